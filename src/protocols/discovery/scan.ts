/**
 * Bounded string searches for the XML and JSON that discovery protocols send: no parser,
 * no regular expressions, only indexOf over a window already cut to the scan bound. The
 * window is a one-character-per-byte copy, so string indices are byte offsets and values
 * are taken from the bytes (escaped by printable()).
 */

import { latin1, printable } from "../http/text.js";

export class ScanWindow {
  /** The scanned bytes, one character each. */
  readonly text: string;
  /** The same, lowercased (latin1 lowercasing keeps the length). */
  readonly lower: string;

  constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly len: number,
    readonly maxValue: number,
  ) {
    this.text = latin1(buf, off, off + len);
    this.lower = this.text.toLowerCase();
  }

  /** Text of `b[start, end)` of the window, trimmed and escaped. */
  value(start: number, end: number): string {
    while (start < end && isSpace(this.text.charCodeAt(start))) start++;
    while (end > start && isSpace(this.text.charCodeAt(end - 1))) end--;
    return printable(this.buf, this.off + start, this.off + end, this.maxValue);
  }

  /**
   * Content of the first element whose local name is `name` (any namespace prefix, any
   * case), or undefined. `<x/>` gives "".
   */
  element(name: string, from = 0): string | undefined {
    const r = this.elementRange(name, from);
    return r === undefined ? undefined : this.value(r[0], r[1]);
  }

  elementRange(name: string, from = 0): [number, number] | undefined {
    const lower = this.lower;
    const n = name.toLowerCase();
    let i = lower.indexOf(n, from);
    while (i >= 0) {
      const after = lower.charCodeAt(i + n.length);
      if (this.opensElement(i) && (after === 0x3e || after === 0x2f || isSpace(after))) {
        const gt = lower.indexOf(">", i + n.length);
        if (gt < 0) return undefined;
        if (lower.charCodeAt(gt - 1) === 0x2f) return [gt, gt];
        const lt = lower.indexOf("<", gt + 1);
        return [gt + 1, lt < 0 ? lower.length : lt];
      }
      i = lower.indexOf(n, i + 1);
    }
    return undefined;
  }

  /** The name at `i` is right after `<` or after `<prefix:` (and not in a closing tag). */
  private opensElement(i: number): boolean {
    const lower = this.lower;
    const before = lower.charCodeAt(i - 1);
    if (before === 0x3c) return true;
    if (before !== 0x3a) return false;
    // Walk back over the prefix (a short name) to its '<'.
    for (let j = i - 2; j >= 0 && j >= i - 34; j--) {
      const c = lower.charCodeAt(j);
      if (c === 0x3c) return lower.charCodeAt(j + 1) !== 0x2f && j + 1 < i - 1;
      if (!isNameChar(c)) return false;
    }
    return false;
  }

  /**
   * The string value of the first JSON member `"key"` at or after `from`: `"key" : "value"`.
   * Undefined when absent or not a string.
   */
  jsonString(key: string, from = 0): string | undefined {
    const r = this.jsonStringRange(key, from);
    return r === undefined ? undefined : this.jsonValue(r[0], r[1]);
  }

  jsonStringRange(key: string, from = 0): [number, number] | undefined {
    const text = this.text;
    const needle = `"${key}"`;
    let i = text.indexOf(needle, from);
    while (i >= 0) {
      let j = i + needle.length;
      while (j < text.length && isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === 0x3a) {
        j++;
        while (j < text.length && isSpace(text.charCodeAt(j))) j++;
        if (text.charCodeAt(j) !== 0x22) return undefined;
        const start = j + 1;
        let k = start;
        while (k < text.length && text.charCodeAt(k) !== 0x22)
          k += text.charCodeAt(k) === 0x5c ? 2 : 1;
        return [start, Math.min(k, text.length)];
      }
      i = text.indexOf(needle, i + 1);
    }
    return undefined;
  }

  /** A JSON string's content, with the escapes these values use (\/ and \") undone. */
  private jsonValue(start: number, end: number): string {
    const b = this.buf;
    const base = this.off;
    let hasEscape = false;
    for (let i = start; i < end; i++) if (b[base + i] === 0x5c) hasEscape = true;
    if (!hasEscape) return this.value(start, end);
    let out = "";
    let n = 0;
    for (let i = start; i < end && n < this.maxValue; i++, n++) {
      const next = i + 1 < end ? b[base + i + 1] : -1;
      if (b[base + i] === 0x5c && (next === 0x2f || next === 0x22)) i++;
      out += printable(b, base + i, base + i + 1, 1);
    }
    return out.trim();
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isNameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e
  );
}

/** The first non-whitespace byte of `b[off, off + len)` (after a UTF-8 BOM), or -1. */
export function firstSignificantByte(b: Uint8Array, off: number, len: number): number {
  let i = off;
  const end = off + Math.min(len, 64);
  if (end - i >= 3 && b[i] === 0xef && b[i + 1] === 0xbb && b[i + 2] === 0xbf) i += 3;
  while (i < end && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  return i < end ? b[i]! : -1;
}

/** `b[off, off + text.length)` equals ASCII `text`. */
export function startsWith(b: Uint8Array, off: number, len: number, text: string): boolean {
  if (len < text.length) return false;
  for (let k = 0; k < text.length; k++) if (b[off + k] !== text.charCodeAt(k)) return false;
  return true;
}
