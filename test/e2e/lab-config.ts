/**
 * The config `egressd run` gets in the namespace lab (test/e2e/netns.ts): capture on the
 * gateway's veth, the test GeoIP databases with the gateway's address as "internet" (CN),
 * the camera's group, the store and a log sink in the test's folder.
 */
import { join } from "node:path";
import { ROOT } from "../edge-cases/cli.js";
import { ADDR, SERVER_IF } from "./netns.js";

const FIXTURES = join(ROOT, "test/fixtures/geoip");

export interface LabConfig {
  dir: string;
  rulePaths: string[];
  httpPort: number;
  alertsFile: string;
  /** More device groups, as YAML flow mappings. */
  groups?: string[];
  /** Extra top-level YAML (flows:, ...). */
  extra?: string;
}

export function labConfigYaml(c: LabConfig): string {
  const groups = [
    `{ name: lab-cameras, role: camera, cidrs: [${ADDR.client4}/32] }`,
    ...(c.groups ?? []),
  ];
  return `sensor: { name: lab-gateway }
capture:
  interfaces: [${SERVER_IF}]
geoip:
  country_db: ${FIXTURES}/test-country.mmdb
  asn_db: ${FIXTURES}/test-asn.mmdb
  bundled: false
  internet_ranges: [${ADDR.server4}/32]
devices:
  store: ${c.dir}/egressd.db
  groups:
${groups.map((g) => `    - ${g}`).join("\n")}
rules:
  paths: [${c.rulePaths.join(", ")}]
alerts:
  store: ${c.dir}/egressd.db
  drain_timeout: 5s
  sinks:
    - { name: file, type: log, file: ${c.alertsFile} }
http:
  listen: 127.0.0.1:${c.httpPort}
${c.extra ?? ""}`;
}
