/**
 * Aligned text tables for commands that print to a terminal. Cells can hold what
 * devices and rule files wrote (names, banners, descriptions): control characters are
 * shown escaped so that neither can drive the terminal.
 */

export function terminalSafe(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? `\\x${c.toString(16).padStart(2, "0")}` : ch;
  }
  return out;
}

/** The table's lines (no newlines): columns padded to their widest cell, two spaces apart. */
export function tableLines(headers: string[], rows: string[][]): string[] {
  const cells = [headers, ...rows.map((r) => r.map(terminalSafe))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}
