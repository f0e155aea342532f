/**
 * A small MaxMind DB (.mmdb) writer for tests: the binary search tree (24-, 28- or
 * 32-bit records), the data section in the format's typed encoding (with pointers for
 * repeated strings and records), and the metadata after "\xAB\xCD\xEFMaxMind.com".
 * Follows https://maxmind.github.io/MaxMind-DB/ (format 2.0). Output is deterministic:
 * the same networks and options give the same bytes.
 */

/** A value whose MaxMind DB type is chosen, where a plain number would be ambiguous. */
export class MmdbTyped {
  constructor(
    readonly type: "uint16" | "uint32" | "uint64" | "uint128" | "int32" | "double" | "float",
    readonly value: number | bigint,
  ) {}
}

export const uint16 = (v: number) => new MmdbTyped("uint16", v);
export const uint32 = (v: number) => new MmdbTyped("uint32", v);
export const uint64 = (v: number | bigint) => new MmdbTyped("uint64", v);
export const uint128 = (v: bigint) => new MmdbTyped("uint128", v);
export const int32 = (v: number) => new MmdbTyped("int32", v);
export const double = (v: number) => new MmdbTyped("double", v);
export const float = (v: number) => new MmdbTyped("float", v);

/**
 * Plain numbers: a non-negative integer below 2^32 is uint32, a negative integer int32,
 * anything else a double. A bigint is uint64 (uint128 past 64 bits).
 */
export type MmdbValue =
  | string
  | number
  | boolean
  | bigint
  | Uint8Array
  | MmdbTyped
  | MmdbValue[]
  | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** "192.0.2.0/24" or "2001:db8::/32"; in an IPv6 tree IPv4 networks go under ::/96. */
  network: string;
  data: MmdbValue;
}

export interface MmdbWriterOptions {
  databaseType: string;
  ipVersion?: 4 | 6;
  recordSize?: 24 | 28 | 32;
  languages?: string[];
  description?: Record<string, string>;
  /** Seconds since 1970. Default 2026-06-01T00:00:00Z, so output does not depend on the clock. */
  buildEpoch?: number | bigint;
  /** Default true: a repeated string or record is written once and pointed to. */
  pointers?: boolean;
}

export const DEFAULT_BUILD_EPOCH = Date.UTC(2026, 5, 1) / 1000;

const T = {
  pointer: 1,
  utf8: 2,
  double: 3,
  bytes: 4,
  uint16: 5,
  uint32: 6,
  map: 7,
  int32: 8,
  uint64: 9,
  uint128: 10,
  array: 11,
  boolean: 14,
  float: 15,
} as const;

/** Control byte(s): type in the top 3 bits (0 = extended, type - 7 in the next byte), then size. */
function control(type: number, size: number): number[] {
  let bits: number;
  let extra: number[];
  if (size < 29) {
    bits = size;
    extra = [];
  } else if (size < 29 + 256) {
    bits = 29;
    extra = [size - 29];
  } else if (size < 285 + 65536) {
    bits = 30;
    const v = size - 285;
    extra = [v >> 8, v & 0xff];
  } else {
    bits = 31;
    const v = size - 65821;
    extra = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  }
  return type <= 7 ? [(type << 5) | bits, ...extra] : [bits, type - 7, ...extra];
}

function pointer(offset: number): number[] {
  if (offset < 2048) return [0x20 | (offset >> 8), offset & 0xff];
  if (offset < 2048 + 2 ** 19) {
    const v = offset - 2048;
    return [0x28 | (v >> 16), (v >> 8) & 0xff, v & 0xff];
  }
  if (offset < 526336 + 2 ** 27) {
    const v = offset - 526336;
    return [0x30 | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  }
  return [0x38, (offset >>> 24) & 0xff, (offset >> 16) & 0xff, (offset >> 8) & 0xff, offset & 0xff];
}

/** Minimal big-endian bytes of a non-negative integer. */
function unsignedBytes(v: bigint): number[] {
  const out: number[] = [];
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

let uniqueBytes = 0;

/** A key that is equal for values that encode the same. */
function identity(v: MmdbValue): string {
  if (v instanceof MmdbTyped) return `${v.type}:${v.value}`;
  if (typeof v === "bigint") return `bigint:${v}`;
  if (v instanceof Uint8Array) {
    // Long byte strings (test filler) are not worth a hex key; each is its own value.
    return v.length <= 1024 ? `bytes:${Buffer.from(v).toString("hex")}` : `bytes@${uniqueBytes++}`;
  }
  if (Array.isArray(v)) return `[${v.map(identity).join(",")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${identity(x)}`)
      .join(",")}}`;
  }
  return `${typeof v}:${JSON.stringify(v)}`;
}

/** A growing byte buffer (a number[] would not hold the 16 MB some tests write). */
class Bytes {
  private buf = Buffer.alloc(4096);
  length = 0;

  private ensure(more: number): void {
    if (this.length + more <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + more));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  push(...values: number[]): void {
    this.ensure(values.length);
    for (const v of values) this.buf[this.length++] = v;
  }

  append(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

class DataSection {
  readonly bytes = new Bytes();
  private readonly written = new Map<string, number>();

  constructor(private readonly pointers: boolean) {}

  /** Writes `v` (or a pointer to an earlier copy) and returns where the value itself is. */
  write(v: MmdbValue): number {
    const key = identity(v);
    const earlier = this.written.get(key);
    const reusable = typeof v === "string" || (typeof v === "object" && !(v instanceof MmdbTyped));
    if (earlier !== undefined && this.pointers && reusable) {
      this.bytes.push(...pointer(earlier));
      return earlier;
    }
    const at = this.bytes.length;
    this.encode(v);
    if (reusable && !this.written.has(key)) this.written.set(key, at);
    return at;
  }

  /** A whole record: written once, its offset shared by every network with the same data. */
  record(v: MmdbValue): number {
    const earlier = this.written.get(identity(v));
    return earlier ?? this.write(v);
  }

  private typed(type: string, value: number | bigint): void {
    const b = this.bytes;
    switch (type) {
      case "uint16":
      case "uint32":
      case "uint64":
      case "uint128": {
        const big = BigInt(value);
        const limit = { uint16: 16n, uint32: 32n, uint64: 64n, uint128: 128n }[type];
        if (big < 0n || big >= 1n << limit) throw new RangeError(`${value} does not fit ${type}`);
        const bytes = unsignedBytes(big);
        b.push(...control(T[type], bytes.length), ...bytes);
        return;
      }
      case "int32": {
        const n = Number(value);
        // Readers take fewer than 4 bytes as unsigned: a negative value needs all four.
        const bytes =
          n < 0
            ? [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]
            : unsignedBytes(BigInt(n));
        b.push(...control(T.int32, bytes.length), ...bytes);
        return;
      }
      case "double": {
        const buf = Buffer.alloc(8);
        buf.writeDoubleBE(Number(value));
        b.push(...control(T.double, 8), ...buf);
        return;
      }
      case "float": {
        const buf = Buffer.alloc(4);
        buf.writeFloatBE(Number(value));
        b.push(...control(T.float, 4), ...buf);
        return;
      }
    }
    throw new TypeError(`unknown type ${type}`);
  }

  private encode(v: MmdbValue): void {
    const b = this.bytes;
    if (v instanceof MmdbTyped) {
      this.typed(v.type, v.value);
      return;
    }
    if (typeof v === "string") {
      const utf8 = Buffer.from(v, "utf8");
      b.push(...control(T.utf8, utf8.length));
      b.append(utf8);
      return;
    }
    if (typeof v === "boolean") {
      b.push(...control(T.boolean, v ? 1 : 0));
      return;
    }
    if (typeof v === "bigint") {
      this.typed(v < 1n << 64n ? "uint64" : "uint128", v);
      return;
    }
    if (typeof v === "number") {
      const integer = Number.isInteger(v);
      this.typed(
        integer && v >= 0 && v <= 0xffffffff
          ? "uint32"
          : integer && v < 0 && v >= -(2 ** 31)
            ? "int32"
            : "double",
        v,
      );
      return;
    }
    if (v instanceof Uint8Array) {
      b.push(...control(T.bytes, v.length));
      b.append(v);
      return;
    }
    if (Array.isArray(v)) {
      b.push(...control(T.array, v.length));
      for (const x of v) this.write(x);
      return;
    }
    const entries = Object.entries(v);
    b.push(...control(T.map, entries.length));
    for (const [k, x] of entries) {
      this.write(k);
      this.write(x);
    }
  }
}

interface TreeNode {
  children: [Child, Child];
}
type Child = TreeNode | { data: number } | null;

function parseNetwork(text: string, ipVersion: 4 | 6): number[] {
  const [address, lengthText] = text.split("/");
  if (address === undefined || lengthText === undefined) throw new Error(`"${text}" is not a CIDR`);
  const length = Number(lengthText);
  let bits: number[];
  if (address.includes(":")) {
    if (ipVersion === 4) throw new Error(`IPv6 network ${text} in an IPv4 database`);
    const [head = "", tail] = address.split("::");
    const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
    const h = groups(head);
    const t = tail === undefined ? [] : groups(tail);
    const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
    bits = all.flatMap((g) => Array.from({ length: 16 }, (_, i) => (g >> (15 - i)) & 1));
    if (!(length >= 1 && length <= 128)) throw new Error(`bad prefix length in ${text}`);
  } else {
    const octets = address.split(".").map(Number);
    const v4 = octets.flatMap((o) => Array.from({ length: 8 }, (_, i) => (o >> (7 - i)) & 1));
    if (!(length >= 1 && length <= 32)) throw new Error(`bad prefix length in ${text}`);
    bits = ipVersion === 6 ? [...new Array(96).fill(0), ...v4] : v4;
    return bits.slice(0, length + (ipVersion === 6 ? 96 : 0));
  }
  return bits.slice(0, length);
}

/** Builds a whole .mmdb file. Later networks override earlier ones where they overlap. */
export function writeMmdb(networks: readonly MmdbNetwork[], options: MmdbWriterOptions): Buffer {
  const ipVersion = options.ipVersion ?? 6;
  const recordSize = options.recordSize ?? 28;
  const data = new DataSection(options.pointers ?? true);
  const root: TreeNode = { children: [null, null] };
  for (const { network, data: value } of networks) {
    const bits = parseNetwork(network, ipVersion);
    const leaf = { data: data.record(value) };
    let node = root;
    for (let d = 0; d < bits.length - 1; d++) {
      const bit = bits[d]!;
      let c = node.children[bit]!;
      if (c === null || "data" in c) {
        // Push an existing answer (or none) down both sides of a new node.
        const split: TreeNode = { children: [c, c] };
        node.children[bit] = split;
        c = split;
      }
      node = c;
    }
    node.children[bits[bits.length - 1]!] = leaf;
  }

  // Number the nodes breadth first: the root is node 0, as readers require.
  const order: TreeNode[] = [];
  const numbers = new Map<TreeNode, number>();
  for (let queue = [root]; queue.length > 0; ) {
    const next: TreeNode[] = [];
    for (const n of queue) {
      if (numbers.has(n)) continue;
      numbers.set(n, order.length);
      order.push(n);
      for (const c of n.children) if (c !== null && !("data" in c)) next.push(c);
    }
    queue = next;
  }
  const nodeCount = order.length;
  const value = (c: Child): number =>
    c === null ? nodeCount : "data" in c ? nodeCount + 16 + c.data : numbers.get(c)!;
  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  order.forEach((n, i) => {
    const [l, r] = n.children.map(value) as [number, number];
    if (Math.max(l, r) >= 2 ** recordSize)
      throw new RangeError(`record ${Math.max(l, r)} does not fit ${recordSize} bits`);
    const o = i * nodeBytes;
    if (recordSize === 24) {
      tree.writeUIntBE(l, o, 3);
      tree.writeUIntBE(r, o + 3, 3);
    } else if (recordSize === 28) {
      tree.writeUIntBE(l & 0xffffff, o, 3);
      tree[o + 3] = ((l >>> 24) << 4) | (r >>> 24);
      tree.writeUIntBE(r & 0xffffff, o + 4, 3);
    } else {
      tree.writeUInt32BE(l, o);
      tree.writeUInt32BE(r, o + 4);
    }
  });

  const metadata = new DataSection(false);
  metadata.write({
    binary_format_major_version: uint16(2),
    binary_format_minor_version: uint16(0),
    build_epoch: uint64(options.buildEpoch ?? DEFAULT_BUILD_EPOCH),
    database_type: options.databaseType,
    description: options.description ?? { en: `${options.databaseType} test database` },
    ip_version: uint16(ipVersion),
    languages: options.languages ?? ["en"],
    node_count: uint32(nodeCount),
    record_size: uint16(recordSize),
  });
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    data.bytes.toBuffer(),
    Buffer.from("abcdef4d61784d696e642e636f6d", "hex"),
    metadata.bytes.toBuffer(),
  ]);
}
