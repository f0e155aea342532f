/**
 * Byte sources for the capture readers: a file path, or stdin when the path is "-".
 * Bytes are always copied into a buffer the caller owns, so a reader can parse records
 * in place without holding on to chunks.
 */

import fs from "node:fs";

export interface ByteInput {
  /** Human name for messages: the path, or "stdin". */
  readonly name: string;
  /** Input size in bytes when it is a regular file, else undefined. */
  readonly totalBytes: number | undefined;
  /** Copies up to `length` bytes into `buf` at `offset`; resolves to 0 at the end of the input. */
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  /** Releases the file descriptor or stream. Safe to call more than once. */
  close(): Promise<void>;
}

export interface ByteInputOptions {
  /**
   * Upper bound on the bytes returned by one read(). Only tests lower it, to make records
   * straddle reads; by default a read fills as much of the caller's buffer as it can.
   */
  maxRead?: number;
}

/** Opens `pathOrDash` for reading; "-" is stdin. Rejects with the usual fs errors (ENOENT, ...). */
export async function openByteInput(
  pathOrDash: string,
  options: ByteInputOptions = {},
): Promise<ByteInput> {
  const maxRead = options.maxRead ?? Number.POSITIVE_INFINITY;
  if (pathOrDash === "-") {
    let st: fs.Stats;
    try {
      st = fs.fstatSync(0);
    } catch (err) {
      throw withName(err, "stdin");
    }
    // fs.read on a non-blocking pipe or socket fails with EAGAIN, so only a regular file is
    // read through the fd (from offset 0, like a named file); anything else goes through
    // Node's own stream machinery.
    if (st.isFile()) return new FdInput("stdin", 0, false, st.size, maxRead);
    return new StreamInput("stdin", process.stdin, maxRead);
  }
  const fd = await fdOpen(pathOrDash);
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  if (st.isDirectory()) {
    fs.closeSync(fd);
    throw new Error(`${pathOrDash}: is a directory`);
  }
  // A FIFO or character device opened by path is in blocking mode (libuv reads it on its
  // thread pool), so fd reads work; it just has no size and cannot take positions.
  return new FdInput(pathOrDash, fd, true, st.isFile() ? st.size : undefined, maxRead);
}

/** Wraps any byte stream (a Readable, an async generator) as a ByteInput. */
export function streamInput(
  name: string,
  stream: AsyncIterable<Uint8Array | string>,
  options: ByteInputOptions = {},
): ByteInput {
  return new StreamInput(name, stream, options.maxRead ?? Number.POSITIVE_INFINITY);
}

function fdOpen(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(path, "r", (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

class FdInput implements ByteInput {
  /** Next file position for regular files; undefined reads from the current position. */
  private position: number | undefined;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly fd: number,
    private readonly ownsFd: boolean,
    readonly totalBytes: number | undefined,
    private readonly maxRead: number,
  ) {
    this.position = totalBytes === undefined ? undefined : 0;
  }

  read(buf: Buffer, offset: number, length: number): Promise<number> {
    if (this.closed) return Promise.resolve(0);
    const n = Math.min(length, this.maxRead);
    return new Promise((resolve, reject) => {
      fs.read(this.fd, buf, offset, n, this.position ?? null, (err, bytes) => {
        if (err) {
          reject(withName(err, this.name));
          return;
        }
        if (this.position !== undefined) this.position += bytes;
        resolve(bytes);
      });
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (!this.ownsFd) return Promise.resolve();
    return new Promise((resolve, reject) => {
      fs.close(this.fd, (err) => (err ? reject(withName(err, this.name)) : resolve()));
    });
  }
}

class StreamInput implements ByteInput {
  readonly totalBytes = undefined;
  private iterator: AsyncIterator<Uint8Array | string> | undefined;
  /** The part of the last chunk that did not fit into the caller's buffer. */
  private pending: Uint8Array | undefined;
  private pendingOffset = 0;
  private done = false;

  constructor(
    readonly name: string,
    private readonly stream: AsyncIterable<Uint8Array | string>,
    private readonly maxRead: number,
  ) {}

  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    let chunk = this.pending;
    if (chunk === undefined) {
      if (this.done) return 0;
      this.iterator ??= this.stream[Symbol.asyncIterator]();
      let next: IteratorResult<Uint8Array | string>;
      try {
        next = await this.iterator.next();
      } catch (err) {
        throw withName(err, this.name);
      }
      if (next.done) {
        this.done = true;
        return 0;
      }
      chunk = typeof next.value === "string" ? Buffer.from(next.value, "latin1") : next.value;
      this.pending = chunk;
      this.pendingOffset = 0;
    }
    const n = Math.min(length, this.maxRead, chunk.length - this.pendingOffset);
    buf.set(chunk.subarray(this.pendingOffset, this.pendingOffset + n), offset);
    this.pendingOffset += n;
    if (this.pendingOffset === chunk.length) this.pending = undefined;
    return n;
  }

  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.pending = undefined;
    // Ending the iteration early destroys the stream, so a writer on the other end of a
    // pipe gets EPIPE instead of blocking forever.
    await this.iterator?.return?.();
  }
}

function withName(err: unknown, name: string): Error {
  if (err instanceof Error) {
    if (!err.message.includes(name)) err.message = `${name}: ${err.message}`;
    return err;
  }
  return new Error(`${name}: ${String(err)}`);
}

/**
 * Room kept in front of read-ahead data for a record cut at the end of the previous
 * buffer (one pcap record at most; larger pcapng blocks take the slow path).
 */
const HEADROOM = 256 * 1024;

/**
 * The readers' buffer. While the parser works through one buffer, the next read runs
 * in the background into a second one (libuv's thread pool does the copy from the
 * page cache), so reading and parsing overlap instead of taking turns. A record cut at
 * the end of a buffer is moved into the headroom in front of the next buffer's data.
 */
export class WorkBuffer {
  buf: Buffer;
  /** A view of `buf`, for the parse loops' field reads. */
  view: DataView;
  /** First unparsed byte in `buf`. */
  start = 0;
  /** End of the valid bytes in `buf`. */
  end = 0;
  /** Stream offset of `buf[0]`: a record at `buf[i]` starts at byte `base + i` of the input. */
  base = 0;
  /** Bytes taken from the input so far. */
  bytesRead = 0;
  /** The input has ended. */
  eof = false;

  private spare: Buffer;
  /** The read in flight into `spare` at HEADROOM, if any. */
  private pending: Promise<number> | null = null;

  constructor(
    private readonly input: ByteInput,
    size: number,
    /** Bytes already taken from the input (the sniffed magic); they come first. */
    prefix?: Uint8Array,
  ) {
    const initial = Math.max(size, prefix?.length ?? 0, 64) + HEADROOM;
    this.buf = Buffer.allocUnsafe(initial);
    this.spare = Buffer.allocUnsafe(initial);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    if (prefix !== undefined) {
      this.buf.set(prefix, 0);
      this.end = prefix.length;
      this.bytesRead = prefix.length;
    }
  }

  /** Unparsed bytes in the buffer. */
  get available(): number {
    return this.end - this.start;
  }

  /** Stream offset of `buf[start]`. */
  get position(): number {
    return this.base + this.start;
  }

  /**
   * Makes at least `need` unparsed bytes available, growing the buffer if one record is
   * bigger than it. Resolves to false when the input ends first.
   */
  async fill(need: number): Promise<boolean> {
    while (this.end - this.start < need) {
      if (this.eof) return false;
      const remainder = this.end - this.start;
      if (remainder > HEADROOM || need > this.spare.length - HEADROOM) {
        await this.fillDirect(need);
        continue;
      }
      if (this.pending === null) this.startReadAhead();
      const n = await this.pending!;
      this.pending = null;
      if (n === 0) {
        this.eof = true;
        continue;
      }
      // Move the unparsed tail in front of the new data and swap the buffers.
      const next = this.spare;
      const newStart = HEADROOM - remainder;
      this.buf.copy(next, newStart, this.start, this.end);
      this.base += this.start - newStart;
      this.spare = this.buf;
      this.buf = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.length);
      this.start = newStart;
      this.end = HEADROOM + n;
      this.bytesRead += n;
      // Only now is the old buffer free to receive the next chunk.
      this.startReadAhead();
    }
    return true;
  }

  /** Waits for any read in flight, then closes the input. */
  async close(): Promise<void> {
    if (this.pending !== null) {
      await this.pending.catch(() => 0);
      this.pending = null;
    }
    await this.input.close();
  }

  private startReadAhead(): void {
    const spare = this.spare;
    this.pending = this.input.read(spare, HEADROOM, spare.length - HEADROOM);
    // Errors surface when the read is awaited; this stops an unhandled-rejection crash
    // if the reader stops (damage) before awaiting it.
    this.pending.catch(() => undefined);
  }

  /** Slow path for records larger than the headroom: grow and read in place. */
  private async fillDirect(need: number): Promise<void> {
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.length);
    }
    // Data already read ahead comes first, in order.
    if (this.pending !== null) {
      const n = await this.pending;
      this.pending = null;
      if (n === 0) {
        this.eof = true;
        return;
      }
      if (this.end + n > this.buf.length) {
        const bigger = Buffer.allocUnsafe(this.end + n + this.buf.length);
        this.buf.copy(bigger, 0, 0, this.end);
        this.buf = bigger;
        this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.length);
      }
      this.spare.copy(this.buf, this.end, HEADROOM, HEADROOM + n);
      this.end += n;
      this.bytesRead += n;
      return;
    }
    while (this.end < need) {
      const n = await this.input.read(this.buf, this.end, this.buf.length - this.end);
      if (n === 0) {
        this.eof = true;
        return;
      }
      this.end += n;
      this.bytesRead += n;
    }
  }
}
