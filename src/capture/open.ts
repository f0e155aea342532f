/**
 * Opens a capture file (or stdin, "-") and picks the reader by its first four bytes.
 */

import { type ByteInput, type ByteInputOptions, openByteInput } from "./byte-input.js";
import { PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC, PcapReader, type ReaderOptions } from "./pcap-file.js";
import { PCAPNG_SHB_TYPE, PcapngReader } from "./pcapng-file.js";
import type { PacketSource } from "./source.js";

export interface OpenCaptureOptions extends ByteInputOptions {
  /** Initial work buffer size of the reader (default 4 MiB). */
  bufferSize?: number;
}

/**
 * Opens `pathOrDash` ("-" for stdin) as a pcap or pcapng capture. Rejects on I/O errors
 * (ENOENT...) and on input that is not a capture at all; damage found later is reported
 * by the source's run() result instead.
 */
export async function openCapture(
  pathOrDash: string,
  options: OpenCaptureOptions = {},
): Promise<PacketSource> {
  const input = await openByteInput(pathOrDash, options);
  return openCaptureInput(input, options);
}

/** Like openCapture, for an already opened input (a stream, in tests). */
export async function openCaptureInput(
  input: ByteInput,
  options: OpenCaptureOptions = {},
): Promise<PacketSource> {
  let magic: Buffer;
  try {
    magic = await readPrefix(input, 4);
  } catch (err) {
    await input.close();
    throw err;
  }
  const readerOptions: ReaderOptions = { prefix: magic };
  if (options.bufferSize !== undefined) readerOptions.bufferSize = options.bufferSize;
  if (magic.length === 4) {
    const le = magic.readUInt32LE(0);
    const be = magic.readUInt32BE(0);
    if (be === PCAPNG_SHB_TYPE) return new PcapngReader(input, readerOptions);
    if (le === PCAP_MAGIC_USEC || le === PCAP_MAGIC_NSEC)
      return new PcapReader(input, readerOptions);
    if (be === PCAP_MAGIC_USEC || be === PCAP_MAGIC_NSEC)
      return new PcapReader(input, readerOptions);
  }
  await input.close();
  throw new Error(`${input.name}: not a pcap or pcapng file (${describe(magic)})`);
}

/** Reads up to `n` bytes, fewer only at the end of the input (a pipe may deliver them piecemeal). */
async function readPrefix(input: ByteInput, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = await input.read(buf, got, n - got);
    if (r === 0) break;
    got += r;
  }
  return buf.subarray(0, got);
}

function describe(magic: Buffer): string {
  if (magic.length === 0) return "it is empty";
  const hex = [...magic].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  if (magic.length < 4) return `only ${magic.length} bytes long: ${hex}`;
  if (magic[0] === 0x1f && magic[1] === 0x8b)
    return `starts with ${hex}: gzip data, decompress it first`;
  return `starts with ${hex}`;
}
