import { parseArgs } from "node:util";
import type { DeviceView } from "../inventory/device.js";
import {
  buildReport,
  compareDevices,
  type DeviceReport,
  NO_GROUP,
  type ReportCount,
  type ReportDevice,
  reportDevice,
} from "../inventory/report.js";
import { VendorClouds } from "../inventory/vendor-clouds.js";
import { SqliteDeviceStore } from "../store/devices.js";
import { DEFAULT_DB_PATH, StoreError } from "../store/sqlite.js";
import { ExitCode, InputError, UsageError } from "./errors.js";
import { tableLines } from "./text-table.js";
import { formatBytes } from "./units.js";

export const DEVICES_HELP = `Usage: egressd devices [options]

Lists the devices egressd has seen on the wire: the inventory the daemon keeps, or
one built from a capture with \`egressd replay --inventory PATH\`. For each device:
MAC and addresses, VLAN, maker and what identified it (IEEE OUI, Hikvision SADP,
Dahua DHIP/DVRIP, ONVIF WS-Discovery, DHCP, HTTP/RTSP banners), group and role from
the config, first and last seen, traffic, and its attempts to reach the internet.

  egressd devices --report          the phase-out view for planning replacement

Options:
      --db PATH    egressd's database (default ${DEFAULT_DB_PATH})
      --json       every field, one JSON object per device (JSON Lines)
      --csv        one row per device, RFC 4180 CSV for spreadsheets
      --report     devices by maker and group, which of them called the internet,
                   which looked up or reached a camera vendor's cloud
                   (rules/sets/vendor_clouds.txt), first and last seen; with
                   --json the whole report as one JSON object, with --csv the
                   counts per maker and group
  -h, --help       show this help

Without --json or --csv the output is an aligned table. Exit status: 0 on success;
1 when the database is missing, damaged or not egressd's; 2 on a usage error.
`;

interface DevicesOptions {
  db: string;
  format: "table" | "json" | "csv";
  report: boolean;
}

export interface Output {
  write(chunk: string): unknown;
}

export function parseDevicesArgs(argv: string[]): DevicesOptions | "help" {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`devices: ${(err as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length > 0)
    throw new UsageError(`devices takes no arguments, got "${positionals[0]}" (use --db PATH)`);
  if (values.json && values.csv)
    throw new UsageError("devices: --json and --csv exclude each other");
  if (values.db === "") throw new UsageError("devices: --db needs a path");
  return {
    db: values.db ?? DEFAULT_DB_PATH,
    format: values.json ? "json" : values.csv ? "csv" : "table",
    report: values.report === true,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: "string" },
      json: { type: "boolean" },
      csv: { type: "boolean" },
      report: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** `egressd devices`: the inventory as a table, JSON Lines, CSV, or the phase-out report. */
export async function runDevices(argv: string[], out: Output = process.stdout): Promise<number> {
  const options = parseDevicesArgs(argv);
  if (options === "help") {
    out.write(DEVICES_HELP);
    return ExitCode.OK;
  }
  let devices: DeviceView[];
  let evictedTotal: number;
  try {
    const store = SqliteDeviceStore.open(options.db, { readonly: true });
    try {
      ({ devices, evictedTotal } = store.load());
    } finally {
      store.close();
    }
  } catch (err) {
    if (err instanceof StoreError) throw new InputError(err.message);
    throw err;
  }
  let clouds: VendorClouds;
  try {
    clouds = VendorClouds.load();
  } catch (err) {
    throw new InputError(`vendor cloud list: ${(err as Error).message}`);
  }
  const w = new ChunkedWriter(out);
  if (options.report) {
    const report = buildReport(devices, clouds, evictedTotal);
    if (options.format === "json") w.line(JSON.stringify(report));
    else if (options.format === "csv") writeReportCsv(w, report);
    else writeReportText(w, report, options.db);
  } else {
    const rows = devices
      .map((v) => ({ v, r: reportDevice(v, clouds) }))
      .sort((a, b) => compareDevices(a.r, b.r));
    if (options.format === "json") for (const { v } of rows) w.line(JSON.stringify(v));
    else if (options.format === "csv") writeDevicesCsv(w, rows);
    else writeDevicesTable(w, rows);
  }
  w.flush();
  return ExitCode.OK;
}

/** Collects lines into large writes: one write per device would be slow on big inventories. */
class ChunkedWriter {
  private buf = "";
  constructor(private readonly out: Output) {}
  line(s: string): void {
    this.buf += `${s}\n`;
    if (this.buf.length > 65_536) this.flush();
  }
  raw(s: string): void {
    this.buf += s;
    if (this.buf.length > 65_536) this.flush();
  }
  flush(): void {
    if (this.buf !== "") this.out.write(this.buf);
    this.buf = "";
  }
}

// --- text ----------------------------------------------------------------

/** Packet time to the second, for tables ("2026-11-22T06:48:54Z"). */
function shortTime(iso: string | undefined): string {
  return iso === undefined ? "-" : `${iso.slice(0, 19)}Z`;
}

function table(w: ChunkedWriter, headers: string[], rows: string[][]): void {
  for (const line of tableLines(headers, rows)) w.line(line);
}

function ipsCell(ips: string[]): string {
  if (ips.length === 0) return "-";
  return ips.length <= 2 ? ips.join(",") : `${ips.slice(0, 2).join(",")} +${ips.length - 2}`;
}

function makerCell(r: ReportDevice): string {
  return r.maker_sources.length > 0 ? `${r.maker} (${r.maker_sources.join(",")})` : r.maker;
}

function internetCell(i: DeviceView["internet"]): string {
  return i.attempted === 0 ? "-" : `${i.attempted} tried, ${i.established} got through`;
}

function cloudCell(r: ReportDevice): string {
  if (r.vendor_clouds.length === 0) return "-";
  const vendors = [...new Set(r.vendor_clouds.map((c) => c.vendor ?? c.name))];
  return vendors.join(",");
}

function writeDevicesTable(w: ChunkedWriter, rows: { v: DeviceView; r: ReportDevice }[]): void {
  table(
    w,
    [
      "MAC",
      "IP",
      "VLAN",
      "MAKER (EVIDENCE)",
      "GROUP",
      "ROLE",
      "MODEL",
      "FIRST SEEN",
      "LAST SEEN",
      "SENT",
      "RECEIVED",
      "INTERNET",
      "VENDOR CLOUD",
    ],
    rows.map(({ v, r }) => [
      v.mac ?? "-",
      ipsCell(r.ips),
      v.vlans.length > 0 ? v.vlans.join(",") : "-",
      makerCell(r),
      r.group,
      v.role ?? "-",
      v.model ?? "-",
      shortTime(v.first_seen),
      shortTime(v.last_seen),
      formatBytes(v.bytes.sent),
      formatBytes(v.bytes.received),
      internetCell(v.internet),
      cloudCell(r),
    ]),
  );
}

function countRows(counts: ReportCount[], keys: ("maker" | "group" | "role")[]): string[][] {
  return counts.map((c) => [
    ...keys.map((k) => c[k] ?? "-"),
    String(c.devices),
    String(c.called_internet),
    String(c.tried_vendor_cloud),
    shortTime(c.first_seen),
    shortTime(c.last_seen),
  ]);
}

const COUNT_HEADERS = [
  "DEVICES",
  "CALLED INTERNET",
  "TRIED VENDOR CLOUD",
  "FIRST SEEN",
  "LAST SEEN",
];

function writeReportText(w: ChunkedWriter, report: DeviceReport, db: string): void {
  w.line(`Device inventory report (${db})`);
  const span =
    report.first_seen === undefined
      ? ""
      : `, seen from ${shortTime(report.first_seen)} to ${shortTime(report.last_seen)}`;
  w.line(`${report.devices} ${report.devices === 1 ? "device" : "devices"}${span}`);
  w.line(
    `${report.called_internet.length} called the internet, ${report.tried_vendor_cloud.length} tried a camera vendor's cloud`,
  );
  if (report.evicted_total > 0)
    w.line(
      `${report.evicted_total} more were evicted by the inventory's size bound and are not counted`,
    );
  w.line("");
  w.line("By maker");
  table(w, ["MAKER", ...COUNT_HEADERS], countRows(report.by_maker, ["maker"]));
  w.line("");
  w.line("By group");
  table(w, ["GROUP", "ROLE", ...COUNT_HEADERS], countRows(report.by_group, ["group", "role"]));
  w.line("");
  w.line("By maker and group");
  table(
    w,
    ["MAKER", "GROUP", "ROLE", ...COUNT_HEADERS],
    countRows(report.by_maker_and_group, ["maker", "group", "role"]),
  );
  w.line("");
  w.line(`Devices that called the internet (${report.called_internet.length})`);
  if (report.called_internet.length > 0) {
    table(
      w,
      ["MAC", "IP", "MAKER", "GROUP", "TRIED", "GOT THROUGH", "FIRST INTERNET", "LAST INTERNET"],
      report.called_internet.map((r) => [
        r.mac ?? "-",
        ipsCell(r.ips),
        r.maker,
        r.group,
        String(r.internet.attempted),
        String(r.internet.established),
        shortTime(r.internet.first_seen),
        shortTime(r.internet.last_seen),
      ]),
    );
  }
  w.line("");
  w.line(`Devices that tried a camera vendor's cloud (${report.tried_vendor_cloud.length})`);
  if (report.tried_vendor_cloud.length > 0) {
    table(
      w,
      ["MAC", "IP", "MAKER", "GROUP", "CLOUD", "NAMES (LOOKUPS/CONNECTIONS)"],
      report.tried_vendor_cloud.map((r) => [
        r.mac ?? "-",
        ipsCell(r.ips),
        r.maker,
        r.group,
        cloudCell(r),
        r.vendor_clouds.map((c) => `${c.name} (${c.lookups}/${c.flows})`).join(" "),
      ]),
    );
  }
  w.line("");
  w.line("All devices");
  table(
    w,
    [
      "MAC",
      "IP",
      "MAKER (EVIDENCE)",
      "GROUP",
      "ROLE",
      "MODEL",
      "FIRST SEEN",
      "LAST SEEN",
      "INTERNET",
      "VENDOR CLOUD",
    ],
    report.all.map((r) => [
      r.mac ?? "-",
      ipsCell(r.ips),
      makerCell(r),
      r.group,
      r.role ?? "-",
      r.model ?? "-",
      shortTime(r.first_seen),
      shortTime(r.last_seen),
      internetCell(r.internet),
      cloudCell(r),
    ]),
  );
}

// --- CSV (RFC 4180) --------------------------------------------------------

/**
 * One CSV field. Text that a spreadsheet would run as a formula (=, +, -, @ first) gets a
 * leading apostrophe: host names and models are chosen by the devices, not by us.
 */
export function csvField(v: string | number | boolean | undefined): string {
  if (v === undefined) return "";
  if (typeof v !== "string") return String(v);
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(w: ChunkedWriter, fields: (string | number | boolean | undefined)[]): void {
  w.raw(`${fields.map(csvField).join(",")}\r\n`);
}

const DEVICE_CSV_HEADERS = [
  "id",
  "mac",
  "randomised_mac",
  "ips",
  "vlans",
  "maker",
  "maker_sources",
  "oui_organisation",
  "group",
  "role",
  "model",
  "serial",
  "firmware",
  "name",
  "dhcp_host_name",
  "dhcp_vendor_class",
  "dhcp_fingerprint",
  "first_seen",
  "last_seen",
  "packets_sent",
  "packets_received",
  "bytes_sent",
  "bytes_received",
  "flows_initiated",
  "flows_accepted",
  "internet_attempted",
  "internet_established",
  "internet_inbound",
  "vendor_clouds",
  "domains",
];

function writeDevicesCsv(w: ChunkedWriter, rows: { v: DeviceView; r: ReportDevice }[]): void {
  csvLine(w, DEVICE_CSV_HEADERS);
  for (const { v, r } of rows) {
    csvLine(w, [
      v.id,
      v.mac,
      v.randomised_mac,
      r.ips.join(" "),
      v.vlans.join(" "),
      v.maker,
      r.maker_sources.join(" "),
      v.oui?.organisation,
      v.group,
      v.role,
      v.model,
      v.serial,
      v.firmware?.join(" "),
      v.name,
      v.dhcp?.host_name,
      v.dhcp?.vendor_class,
      v.dhcp?.fingerprint,
      v.first_seen,
      v.last_seen,
      v.packets.sent,
      v.packets.received,
      v.bytes.sent,
      v.bytes.received,
      v.flows.initiated,
      v.flows.accepted,
      v.internet.attempted,
      v.internet.established,
      v.internet.inbound,
      r.vendor_clouds.map((c) => c.name).join(" "),
      v.domains.map((d) => d.name).join(" "),
    ]);
  }
}

function writeReportCsv(w: ChunkedWriter, report: DeviceReport): void {
  csvLine(w, [
    "maker",
    "group",
    "role",
    "devices",
    "called_internet",
    "tried_vendor_cloud",
    "first_seen",
    "last_seen",
  ]);
  for (const c of report.by_maker_and_group) {
    csvLine(w, [
      c.maker,
      // No group is an empty cell here (the table's "-" would read as a formula sign).
      c.group === NO_GROUP ? "" : c.group,
      c.role,
      c.devices,
      c.called_internet,
      c.tried_vendor_cloud,
      c.first_seen,
      c.last_seen,
    ]);
  }
}
