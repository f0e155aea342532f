/**
 * Address sets: IPv4 and IPv6 networks in binary prefix tries over the 32-bit words the
 * flow table keeps addresses in (IPv4 in word 3). A lookup walks at most 32 (IPv4) or
 * 128 (IPv6) bits and answers the longest matching network, however many are loaded;
 * nodes live in typed arrays, so 50,000 networks cost a few megabytes and no objects.
 */
import { type Cidr, parseCidr } from "../../enrich/geoip/address.js";
import { formatIp } from "../../util/ip-text.js";

class BitTrie {
  private zero = new Int32Array(1024);
  private one = new Int32Array(1024);
  /** Entry index stored at the node, -1 for none. */
  private value = new Int32Array(1024).fill(-1);
  private nodes = 1;

  private grow(): void {
    const size = this.zero.length * 2;
    const z = new Int32Array(size);
    z.set(this.zero);
    const o = new Int32Array(size);
    o.set(this.one);
    const v = new Int32Array(size).fill(-1);
    v.set(this.value);
    this.zero = z;
    this.one = o;
    this.value = v;
  }

  private child(node: number, bit: number): number {
    const arr = bit === 0 ? this.zero : this.one;
    let c = arr[node]!;
    if (c === 0) {
      if (this.nodes === this.zero.length) this.grow();
      c = this.nodes++;
      (bit === 0 ? this.zero : this.one)[node] = c;
    }
    return c;
  }

  /** Bits [0, prefix) of `words` (most significant first); keeps the first value given a network. */
  insert(words: readonly number[], prefix: number, value: number): number {
    let node = 0;
    for (let i = 0; i < prefix; i++) {
      const bit = (words[i >>> 5]! >>> (31 - (i & 31))) & 1;
      node = this.child(node, bit);
    }
    if (this.value[node] === -1) this.value[node] = value;
    return this.value[node]!;
  }

  /** Longest stored prefix of the 32-bit word `w`, as a value, or -1. */
  lookup32(w: number): number {
    const zero = this.zero;
    const one = this.one;
    const value = this.value;
    let best = value[0]!;
    let node = 0;
    for (let i = 31; i >= 0; i--) {
      node = ((w >>> i) & 1) === 0 ? zero[node]! : one[node]!;
      if (node === 0) return best;
      const v = value[node]!;
      if (v >= 0) best = v;
    }
    return best;
  }

  lookup128(w0: number, w1: number, w2: number, w3: number): number {
    const zero = this.zero;
    const one = this.one;
    const value = this.value;
    let best = value[0]!;
    let node = 0;
    for (let k = 0; k < 4; k++) {
      const w = k === 0 ? w0 : k === 1 ? w1 : k === 2 ? w2 : w3;
      for (let i = 31; i >= 0; i--) {
        node = ((w >>> i) & 1) === 0 ? zero[node]! : one[node]!;
        if (node === 0) return best;
        const v = value[node]!;
        if (v >= 0) best = v;
      }
    }
    return best;
  }

  get size(): number {
    return this.nodes;
  }
}

export class CidrSet {
  /** Network text per entry index, for reasons: "203.0.113.0/24". */
  readonly entries: string[] = [];
  private readonly v4 = new BitTrie();
  private readonly v6 = new BitTrie();

  get size(): number {
    return this.entries.length;
  }

  /** Adds a parsed network; `text` is how it is shown. A network already present is kept once. */
  add(c: Cidr, text: string): void {
    const index = this.entries.length;
    const kept =
      c.version === 4
        ? this.v4.insert([c.w3], c.prefix, index)
        : this.v6.insert([c.w0, c.w1, c.w2, c.w3], c.prefix, index);
    if (kept === index) this.entries.push(text);
  }

  /** Adds "10.0.0.0/8", "2001:db8::/32" or a bare address; false when it is not one. */
  addText(text: string): boolean {
    const c = parseCidr(text);
    if (c === null) return false;
    this.add(c, formatCidr(c));
    return true;
  }

  /** Index of the longest network containing the address, or -1. IPv4 is in w3. */
  lookup(version: number, w0: number, w1: number, w2: number, w3: number): number {
    if (this.entries.length === 0) return -1;
    return version === 4 ? this.v4.lookup32(w3) : this.v6.lookup128(w0, w1, w2, w3);
  }

  /** Trie nodes in use (both families), for the bench's memory figure. */
  get nodes(): number {
    return this.v4.size + this.v6.size;
  }
}

/** "192.0.2.0/24"; a single address without the /32 or /128. */
export function formatCidr(c: Cidr): string {
  const ip = formatIp(c.version, c.w0, c.w1, c.w2, c.w3);
  return c.prefix === (c.version === 4 ? 32 : 128) ? ip : `${ip}/${c.prefix}`;
}
