import type { ByteInput } from "./byte-input.js";
import { WorkBuffer } from "./byte-input.js";
import type {
  CaptureFormatError,
  PacketSink,
  PacketSource,
  RawPacket,
  SourceResult,
} from "./source.js";

/** Options shared by the capture file readers. */
export interface ReaderOptions {
  /** Bytes already read from the input (the sniffed magic number); they come first. */
  prefix?: Uint8Array;
  /** Initial work buffer size. */
  bufferSize?: number;
}

/** 4 MiB reads: few system calls, and the buffer stays small next to the heap. */
export const DEFAULT_BUFFER_SIZE = 4 * 1024 * 1024;

/**
 * What the pcap and pcapng readers share: the work buffer, the one reused packet
 * object, the run-once contract and the result. Subclasses parse the format in
 * readAll() and set `error` when they find damage.
 */
export abstract class FileSource implements PacketSource {
  readonly name: string;
  protected readonly wb: WorkBuffer;
  protected readonly packet: RawPacket;
  protected packets = 0;
  protected error: CaptureFormatError | undefined;
  private started = false;

  constructor(
    private readonly input: ByteInput,
    options: ReaderOptions = {},
  ) {
    this.name = input.name;
    this.wb = new WorkBuffer(input, options.bufferSize ?? DEFAULT_BUFFER_SIZE, options.prefix);
    // One packet object for the whole file: the sink must not keep it (see source.ts).
    this.packet = {
      buf: this.wb.buf,
      offset: 0,
      capLen: 0,
      origLen: 0,
      tsSec: 0,
      tsNsec: 0,
      linkType: 0,
      interfaceId: 0,
      recordOffset: 0,
    };
  }

  get bytesRead(): number {
    return this.wb.bytesRead;
  }

  get totalBytes(): number | undefined {
    return this.input.totalBytes;
  }

  async run(sink: PacketSink): Promise<SourceResult> {
    if (this.started) throw new Error(`${this.name}: run() may only be called once`);
    this.started = true;
    try {
      await this.readAll(sink);
    } finally {
      await this.wb.close();
    }
    const result: SourceResult = { packets: this.packets, bytesRead: this.wb.bytesRead };
    if (this.error !== undefined) result.error = this.error;
    return result;
  }

  /** Delivers every packet; on damage sets `error` and returns. */
  protected abstract readAll(sink: PacketSink): Promise<void>;
}
