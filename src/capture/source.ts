/**
 * The capture layer's contract: a source produces raw link-layer frames, one at a
 * time, into a single reused RawPacket object. Nothing here allocates per packet:
 * `buf` is the reader's own buffer and the frame is `buf[offset, offset + capLen)`,
 * valid only until `sink.packet()` returns.
 */

/** LINKTYPE_* values from https://www.tcpdump.org/linktypes.html that egressd decodes. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW_BSD: 12,
  RAW_OPENBSD: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export interface RawPacket {
  /** Backing bytes; the frame starts at `offset`. Do not keep a reference. */
  buf: Buffer;
  offset: number;
  /** Bytes present in `buf` (may be less than origLen when the snaplen cut the frame). */
  capLen: number;
  /** Length of the frame on the wire. */
  origLen: number;
  /** Packet time: whole seconds since the Unix epoch and the nanoseconds within it. */
  tsSec: number;
  tsNsec: number;
  /** LINKTYPE_* of the interface the frame was captured on. */
  linkType: number;
  /** Interface index within the capture (always 0 for classic pcap). */
  interfaceId: number;
  /** Byte offset of this record in the capture stream, for error messages. */
  recordOffset: number;
}

export interface PacketSink {
  packet(p: RawPacket): void;
  /** Called when the capture declares an interface (pcap header, pcapng IDB), before its packets. */
  interface?(interfaceId: number, linkType: number, snapLen: number): void;
}

/** Thrown (or returned) when a capture file is damaged; `offset` is where the damage starts. */
export class CaptureFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "CaptureFormatError";
  }
}

export interface SourceResult {
  /** Records handed to the sink. */
  packets: number;
  /** Bytes consumed from the input. */
  bytesRead: number;
  /** Set when the input was damaged: everything before `error.offset` was delivered. */
  error?: CaptureFormatError;
}

export interface PacketSource {
  /** Human name for messages: a path, "stdin" or an interface. */
  readonly name: string;
  /** Bytes consumed so far (for progress). */
  readonly bytesRead: number;
  /** Total input size when known (regular files), else undefined. */
  readonly totalBytes: number | undefined;
  /** Delivers every packet to the sink; resolves when the input ends or is found damaged. */
  run(sink: PacketSink): Promise<SourceResult>;
}
