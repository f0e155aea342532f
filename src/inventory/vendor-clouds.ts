/**
 * Vendor cloud / P2P domain suffixes (rules/sets/vendor_clouds.txt): which of the names a
 * device looked up or connected to belong to a camera vendor's cloud. The file is a plain
 * set, one suffix a line with '#' comments, so the rules can load it as a named set; the
 * report reads the "# vendor: NAME" comments to say whose cloud it was.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const VENDOR_CLOUDS_PATH = fileURLToPath(
  new URL("../../rules/sets/vendor_clouds.txt", import.meta.url),
);

export interface VendorCloud {
  suffix: string;
  /** From the nearest "# vendor: NAME" line above the entry; null before any. */
  vendor: string | null;
}

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})+$`);

export class VendorClouds {
  private readonly bySuffix = new Map<string, VendorCloud>();

  constructor(entries: readonly VendorCloud[]) {
    for (const e of entries) this.bySuffix.set(e.suffix, e);
  }

  get entries(): VendorCloud[] {
    return [...this.bySuffix.values()];
  }

  /** Parses the set file format; errors name source:line:column. */
  static parse(text: string, source: string): VendorClouds {
    const entries: VendorCloud[] = [];
    let vendor: string | null = null;
    text.split(/\r?\n/).forEach((raw, i) => {
      const hash = raw.indexOf("#");
      const comment = hash < 0 ? "" : raw.slice(hash + 1).trim();
      const m = /^vendor:\s*(.+)$/i.exec(comment);
      if (hash === 0 && m) vendor = m[1]!.trim();
      const value = (hash < 0 ? raw : raw.slice(0, hash)).trim();
      if (value === "") return;
      const suffix = value.toLowerCase().replace(/\.$/, "");
      if (!DOMAIN.test(suffix)) {
        const column = raw.indexOf(value) + 1;
        throw new Error(
          `${source}:${i + 1}:${column}: "${value}" is not a domain suffix (one name a line, like hik-connect.com)`,
        );
      }
      entries.push({ suffix, vendor });
    });
    return new VendorClouds(entries);
  }

  static load(path: string = VENDOR_CLOUDS_PATH): VendorClouds {
    return VendorClouds.parse(readFileSync(path, "utf8"), path);
  }

  /** The entry `domain` falls under (itself or a parent), or null. */
  match(domain: string): VendorCloud | null {
    let d = domain.toLowerCase();
    if (d.endsWith(".")) d = d.slice(0, -1);
    for (;;) {
      const hit = this.bySuffix.get(d);
      if (hit !== undefined) return hit;
      const dot = d.indexOf(".");
      if (dot < 0) return null;
      d = d.slice(dot + 1);
    }
  }
}
