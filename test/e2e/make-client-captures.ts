/**
 * Makes a real capture of real clients talking to real servers (dig/dnsmasq, curl/nginx,
 * openssl s_client/s_server, ping, and connections to closed ports), all inside two
 * throwaway network namespaces from ./netns.ts. The e2e tests check egressd's flow records
 * against tshark on such a capture, and test/fixtures/real/namespace-clients.pcap was made
 * with it (see the README there). Nothing leaves the namespaces: every address is a
 * documentation address on the one veth link.
 *
 * Regenerate the fixture (Node 20 cannot run .ts itself): bash test/e2e/make-fixture.sh
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ADDR, createNetnsPair, type NetnsPair, type Server } from "./netns.js";

/** Made-up names served by dnsmasq: update -> cam -> cdn (a two-step CNAME chain). */
export const DNS_NAMES = {
  host: "cdn.example.test",
  cname: "cam.example.test",
  cname2: "update.example.test",
} as const;

/** Nothing listens here: TCP gets a RST, UDP an ICMP port unreachable. */
export const CLOSED_TCP_PORT = 81;
export const CLOSED_UDP_PORT = 9;
/** Ports the servers listen on (each on both server addresses). */
export const OPEN_TCP_PORTS = [53, 80, 443, 8000] as const;
const HTTP_PORTS = [80, 8000] as const;

/** Asked of each server address over UDP and again over TCP: A, AAAA, and a CNAME chain. */
export const DNS_QUERIES = [
  [DNS_NAMES.host, "A"],
  [DNS_NAMES.host, "AAAA"],
  [DNS_NAMES.cname2, "A"],
] as const;

/** openssl s_client runs: TLS 1.2 and 1.3, each with and without SNI. */
const TLS_RUNS = ["-tls1_2", "-tls1_3"].flatMap((version) => [
  [version, "-servername", DNS_NAMES.cname],
  [version, "-noservername"],
]);

/**
 * What runClients() makes, per server address (IPv4 and IPv6): TCP: DNS queries, one
 * keep-alive connection per HTTP port, one curl HTTPS, the s_client runs, the closed port;
 * UDP: DNS queries and the closed port.
 */
export const EXPECTED_CONVERSATIONS = {
  tcp: 2 * (DNS_QUERIES.length + HTTP_PORTS.length + 1 + TLS_RUNS.length + 1),
  udp: 2 * (DNS_QUERIES.length + 1),
};

export interface ClientCaptureResult {
  file: string;
  /** Wall time of the whole run, namespaces and servers included. */
  elapsedMs: number;
  /** tcpdump's closing statistics (packets captured / received / dropped). */
  tcpdumpStats: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "a b c" -> ["a", "b", "c"]: keeps long fixed argument lists readable. */
const words = (s: string) => s.split(" ");

/** URL host part: IPv6 literals need brackets. */
const host = (addr: string) => (addr.includes(":") ? `[${addr}]` : addr);

export async function makeClientCapture(outFile: string): Promise<ClientCaptureResult> {
  const started = Date.now();
  outFile = resolve(outFile);
  const tmp = mkdtempSync(join(tmpdir(), "egressd-e2e-"));
  let pair: NetnsPair | undefined;
  try {
    writeServerFiles(tmp);
    pair = await createNetnsPair();
    await startServers(pair, tmp);
    const capture = await pair.startCapture(outFile);
    let tcpdumpStats = "";
    try {
      await runClients(pair);
      // Let the last replies and FIN/ACKs reach the capture before stopping it.
      await sleep(300);
    } finally {
      tcpdumpStats = await capture.stop();
    }
    // Every packet the kernel saw must be in the file, or the counts compared are wrong.
    const count = (what: string) => new RegExp(`(\\d+) packets? ${what}`).exec(tcpdumpStats)?.[1];
    const captured = count("captured");
    if (
      captured === undefined ||
      captured !== count("received by filter") ||
      count("dropped by kernel") !== "0"
    ) {
      throw new Error(`tcpdump lost packets:\n${tcpdumpStats}`);
    }
    return { file: outFile, elapsedMs: Date.now() - started, tcpdumpStats: tcpdumpStats.trim() };
  } finally {
    await pair?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Web root, nginx config and a throwaway self-signed certificate, all in `dir`. */
export function writeServerFiles(dir: string): void {
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>cam</title><p>egressd test\n");
  writeFileSync(join(dir, "a.txt"), "firmware-version: 1.0.0\n");
  writeFileSync(join(dir, "b.txt"), `${"x".repeat(2000)}\n`); // more than one segment's worth
  // master_process off + daemon off: a single process we can kill; user root so it can read
  // the root-only temp dir; every path nginx writes is inside `dir`.
  const listen = [80, 8000]
    .flatMap((port) => [`listen ${ADDR.server4}:${port};`, `listen [${ADDR.server6}]:${port};`])
    .join(" ");
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off;
master_process off;
user root;
error_log stderr;
pid ${dir}/nginx.pid;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { ${listen} root ${dir}; }
}
`,
  );
  // P-256 rather than RSA keeps the handshakes, and so the fixture, small.
  execFileSync(
    "openssl",
    [
      ...words("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"),
      ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      ...["-subj", `/CN=${DNS_NAMES.cname}`, "-addext", `subjectAltName=DNS:${DNS_NAMES.cname}`],
    ],
    { stdio: "ignore" },
  );
}

export async function startServers(pair: NetnsPair, dir: string): Promise<void> {
  const ns = pair.server;
  const servers: Server[] = [];
  // dnsmasq: authoritative answers from the command line only: no /etc/dnsmasq.conf,
  // no /etc/hosts, no upstream resolvers, no DHCP.
  servers.push(
    pair.spawn(ns, [
      ...words("dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts"),
      ...words("--port=53 --bind-interfaces --pid-file= --user=root --log-facility=-"),
      `--listen-address=${ADDR.server4}`,
      `--listen-address=${ADDR.server6}`,
      `--host-record=${DNS_NAMES.host},${ADDR.server4},${ADDR.server6}`,
      `--cname=${DNS_NAMES.cname},${DNS_NAMES.host}`,
      `--cname=${DNS_NAMES.cname2},${DNS_NAMES.cname}`,
    ]),
  );
  servers.push(pair.spawn(ns, ["nginx", "-c", join(dir, "nginx.conf"), "-p", dir, "-e", "stderr"]));
  // s_server has one listening socket, so one per address family.
  for (const addr of [ADDR.server4, ADDR.server6]) {
    servers.push(
      pair.spawn(ns, [
        ...words("openssl s_server -www -quiet -accept"),
        `${host(addr)}:443`,
        ...["-cert", join(dir, "cert.pem"), "-key", join(dir, "key.pem")],
      ]),
    );
  }
  // Wait until every listening socket exists, rather than sleeping and hoping.
  const want = [
    ...OPEN_TCP_PORTS.flatMap((p) => [`tcp ${ADDR.server4}:${p}`, `tcp [${ADDR.server6}]:${p}`]),
    `udp ${ADDR.server4}:53`,
    `udp [${ADDR.server6}]:53`,
  ];
  let missing = want;
  for (let i = 0; i < 100 && missing.length > 0; i++) {
    const { stdout } = await pair.run(ns, ["ss", "-Hlntu"]);
    const have = new Set(
      stdout.split("\n").map((l) => {
        const f = l.trim().split(/\s+/);
        return `${f[0]} ${f[4]}`; // Netid ... Local Address:Port
      }),
    );
    missing = want.filter((w) => !have.has(w));
    if (missing.length > 0) await sleep(50);
  }
  if (missing.length > 0) {
    const outputs = servers.map((s) => `--- ${s.name}\n${s.output()}`).join("\n");
    throw new Error(`servers not listening on ${missing.join(", ")}\n${outputs}`);
  }
}

/** The clients, one after another so the capture's order is the same every time. */
async function runClients(pair: NetnsPair): Promise<void> {
  const run = (argv: string[], okCodes = [0], input = "") =>
    pair.run(pair.client, argv, { okCodes, input });

  for (const server of [ADDR.server4, ADDR.server6]) {
    // DNS over UDP then TCP: a plain name (A and AAAA) and the CNAME chain.
    for (const transport of ["+notcp", "+tcp"]) {
      for (const [name, type] of DNS_QUERIES) {
        const { stdout } = await run([
          "dig",
          `@${server}`,
          name,
          type,
          transport,
          "+tries=1",
          "+time=2",
        ]);
        if (!stdout.includes("status: NOERROR")) throw new Error(`dig failed:\n${stdout}`);
      }
    }
    // HTTP/1.1 keep-alive: two URLs in one curl, one TCP connection (per port).
    for (const port of HTTP_PORTS) {
      const base = `http://${host(server)}:${port}`;
      const { stdout } = await run([
        ...words("curl -sS -g --max-time 5 -o /dev/null -o /dev/null -w"),
        "%{http_code} %{num_connects}\n",
        `${base}/a.txt`,
        `${base}/b.txt`,
      ]);
      if (stdout !== "200 1\n200 0\n") throw new Error(`curl keep-alive failed: ${stdout}`);
    }
    // HTTPS against the self-signed certificate.
    await run([...words("curl -sS -g -k --max-time 5 -o /dev/null"), `https://${host(server)}/`]);
    // TLS 1.2 and 1.3, with and without SNI. "Q" on stdin makes s_client quit cleanly
    // (close_notify, then close); an empty stdin does the same on EOF.
    for (const [i, options] of TLS_RUNS.entries()) {
      const { stdout } = await run(
        ["openssl", "s_client", "-connect", `${host(server)}:443`, ...options],
        [0],
        i % 2 === 0 ? "Q\n" : "",
      );
      if (!/New, TLSv1\.[23], Cipher is /.test(stdout))
        throw new Error(`s_client failed:\n${stdout}`);
    }
    // A closed TCP port: SYN, then RST from the server's kernel (curl exits 7).
    await run(
      ["curl", "-sS", "-g", "--max-time", "2", `http://${host(server)}:${CLOSED_TCP_PORT}/`],
      [7],
    );
    // A closed UDP port: one datagram, answered by ICMP port unreachable.
    const family = server.includes(":") ? "AF_INET6" : "AF_INET";
    await run([
      "python3",
      "-c",
      `import socket; socket.socket(socket.${family}, socket.SOCK_DGRAM).sendto(b"hello", ("${server}", ${CLOSED_UDP_PORT}))`,
    ]);
    // Echo request/reply, twice.
    await run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", server]);
  }
}

// Script entry for regenerating the fixture from a compiled copy (see make-fixture.sh).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: make-client-captures.js OUT.pcap");
    process.exit(2);
  }
  const result = await makeClientCapture(out);
  console.log(`${result.file}: ${result.elapsedMs} ms\n${result.tcpdumpStats}`);
}
