/**
 * Loads the pcap_live addon (native/pcap_live.c) and types it. Loaded on first use, so
 * replaying files never needs libpcap or the addon.
 */

import { createRequire } from "node:module";
import { LIBPCAP_HINT, LiveCaptureError } from "./errors.js";

export interface PcapOpenOptions {
  device: string;
  snaplen: number;
  promiscuous: boolean;
  /** Kernel ring size (pcap_set_buffer_size); 0 keeps libpcap's default (2 MiB). */
  bufferBytes: number;
  immediate: boolean;
  /** Kernel block timeout: with immediate off, packets wait at most this long. */
  timeoutMs: number;
  filter?: string;
}

export interface PcapStats {
  /** pcap_stats for this handle only: they start again at 0 on every open. */
  received: number;
  dropped: number;
  ifdropped: number;
}

/**
 * One open capture. Batches are records of u32 tsSec, u32 tsNsec, u32 capLen, u32 origLen
 * (host byte order) followed by capLen bytes, packed back to back.
 */
export interface PcapHandle {
  readonly linkType: number;
  readonly snaplen: number;
  /** False when libpcap fell back to microsecond timestamps (tsNsec is still nanoseconds). */
  readonly nanosecond: boolean;
  /** pcap_activate's warning (e.g. promiscuous mode not supported), or null. */
  readonly warning: string | null;
  /** onBatch runs once per wakeup; the batch is overwritten after it returns. */
  start(onBatch: (bytes: number, count: number) => void, onError: (message: string) => void): void;
  stats(): PcapStats;
  /** Stops polling and closes libpcap; safe twice and from inside onBatch. */
  close(): void;
}

export interface PcapAddon {
  open(options: PcapOpenOptions, batch: ArrayBuffer): PcapHandle;
  libVersion(): string;
}

export const RECORD_HEADER_LEN = 16;

/** Where node-gyp puts the addon, seen from src/ (tests) and from dist/ (the built CLI). */
const CANDIDATES = [
  "./native/build/Release/pcap_live.node",
  "../../../src/capture/live/native/build/Release/pcap_live.node",
];

let addon: PcapAddon | undefined;

/** The addon, or a LiveCaptureError of kind "libpcap" saying how to install it. */
export function loadPcapAddon(): PcapAddon {
  if (addon !== undefined) return addon;
  const require = createRequire(import.meta.url);
  const problems: string[] = [];
  for (const candidate of CANDIDATES) {
    try {
      addon = require(candidate) as PcapAddon;
      return addon;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // A missing .node is expected for one of the two paths; anything else (libpcap.so
      // not found, wrong ABI) is the real reason and goes first.
      if (err.code === "MODULE_NOT_FOUND") problems.push(`${candidate}: not built`);
      else problems.unshift(err.message);
    }
  }
  throw new LiveCaptureError(
    "libpcap",
    `live capture is not available (${problems[0]}): ${LIBPCAP_HINT}`,
  );
}
