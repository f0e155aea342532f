/**
 * The drop-in lists the rules issue measures against: a 100,000-entry domain blocklist
 * (half plain lines, half hosts format) and a 50,000-entry network list (IPv4 /24s and
 * /32s, some IPv6), written as set files of a rules folder. Deterministic (fixed seed).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DOMAINS = 100_000;
export const NETWORKS = 50_000;
const TLDS = ["com", "net", "org", "cn", "ru", "io", "info", "biz"];

/** mulberry32, so every run lists the same names. */
export function seededRandom(seed = 0x5eed) {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes sets/big_blocklist.hosts and sets/big_networks.txt under `rulesDir`; returns a
 * sample of listed names and IPv4 addresses for contexts that should match.
 */
export function writeBigLists(rulesDir, rand = seededRandom()) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const word = (n) => {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(rand() * 26));
    return s;
  };
  mkdirSync(join(rulesDir, "sets"), { recursive: true });
  const blocked = [];
  let domainText = "# generated blocklist\n";
  for (let i = 0; i < DOMAINS; i++) {
    const name = `${word(4 + Math.floor(rand() * 8))}${i}.${word(3 + Math.floor(rand() * 6))}.${pick(TLDS)}`;
    if (i % 1000 === 0) blocked.push(name);
    domainText += i % 2 === 0 ? `${name}\n` : `0.0.0.0 ${name}\n`;
  }
  writeFileSync(join(rulesDir, "sets", "big_blocklist.hosts"), domainText);

  const listedV4 = [];
  let netText = "# generated network list\n";
  for (let i = 0; i < NETWORKS; i++) {
    if (i % 10 === 9) {
      netText += `2001:db8:${(i >> 8).toString(16)}:${(i & 255).toString(16)}::/64\n`;
      continue;
    }
    const a = 1 + Math.floor(rand() * 222);
    const b = Math.floor(rand() * 256);
    const c = Math.floor(rand() * 256);
    if (i % 3 === 0) {
      const d = Math.floor(rand() * 256);
      netText += `${a}.${b}.${c}.${d}\n`;
      if (listedV4.length < 200) listedV4.push(`${a}.${b}.${c}.${d}`);
    } else {
      netText += `${a}.${b}.${c}.0/24\n`;
    }
  }
  writeFileSync(join(rulesDir, "sets", "big_networks.txt"), netText);
  return { blocked, listedV4, rand, pick, word, TLDS };
}
