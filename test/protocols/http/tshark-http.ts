/** tshark's reading of the HTTP in a capture, as rows of the fields the tests compare. */

import { execFileSync } from "node:child_process";

export function tsharkFields(
  pcap: string,
  filter: string,
  fields: string[],
  extra: string[] = [],
): string[][] {
  const out = execFileSync(
    "tshark",
    ["-n", "-r", pcap, ...extra, "-Y", filter, "-T", "fields", ...fields.flatMap((f) => ["-e", f])],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}
