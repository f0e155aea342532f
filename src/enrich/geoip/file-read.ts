/**
 * Reading a database file with errors a person can act on, and the identity of what was
 * read, so a reload can tell a replaced file from the same one.
 */
import { readFileSync, type Stats, statSync } from "node:fs";
import { GeoIpError } from "./errors.js";

/** Changes when the file is rewritten or replaced (a new inode from a rename, or new ctime). */
export type FileSignature = string;

export function signatureOf(st: Stats): FileSignature {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function reason(err: NodeJS.ErrnoException, what: string): string {
  switch (err.code) {
    case "ENOENT":
      return `no such file (the ${what})`;
    case "EACCES":
    case "EPERM":
      return `permission denied reading the ${what}`;
    case "EISDIR":
      return `is a directory, not the ${what} file`;
    default:
      return `cannot read the ${what}: ${err.message}`;
  }
}

/** The signature of `path` now, or a GeoIpError naming it. */
export function statFile(path: string, what: string): { signature: FileSignature; stats: Stats } {
  try {
    const stats = statSync(path);
    if (stats.isDirectory()) throw Object.assign(new Error("directory"), { code: "EISDIR" });
    return { signature: signatureOf(stats), stats };
  } catch (err) {
    throw new GeoIpError(reason(err as NodeJS.ErrnoException, what), path);
  }
}

/** The whole file and its signature (taken before reading: a change while reading shows as a later change). */
export function readFile(
  path: string,
  what: string,
): { buf: Buffer; signature: FileSignature; stats: Stats } {
  const { signature, stats } = statFile(path, what);
  try {
    return { buf: readFileSync(path), signature, stats };
  } catch (err) {
    throw new GeoIpError(reason(err as NodeJS.ErrnoException, what), path);
  }
}
