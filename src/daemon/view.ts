/**
 * What the running daemon shows its HTTP listener and its metrics: read-only accessors,
 * read at scrape or request time (never per packet). src/daemon/daemon.ts implements it.
 */
import type { AlertRouter } from "../alert/router.js";
import type { LiveStats } from "../capture/live/live-source.js";
import type { GeoIp } from "../enrich/geoip/index.js";
import type { Inventory } from "../inventory/index.js";
import type { Pipeline } from "../pipeline.js";
import type { RuleEngine } from "../rules/engine.js";

export type CaptureState = "starting" | "capturing" | "down" | "stopped";

/** One interface: its state and libpcap's and the pipeline's counts for it. */
export interface CaptureStatus extends LiveStats {
  interface: string;
  state: CaptureState;
  /** Why it is down (libpcap's message). */
  detail?: string;
}

export interface ReadyCheck {
  ok: boolean;
  detail?: string;
}

export interface ConfigReloadStatus {
  success: number;
  failure: number;
  /** Wall-clock ms of the last reload attempt, 0 if none. */
  lastMs: number;
  lastOk: boolean;
  lastError?: string;
}

export interface DaemonView {
  readonly sensor: string;
  /** Wall-clock ms the daemon started. */
  readonly startedMs: number;
  /** The running pipeline; null before capture starts. */
  pipeline(): Pipeline | null;
  captures(): CaptureStatus[];
  geoip(): GeoIp | null;
  inventory(): Inventory;
  rules(): RuleEngine;
  alerts(): AlertRouter;
  /** capturing, rules loaded, store writable: each check with why it fails. */
  ready(): Record<string, ReadyCheck>;
  configReloads(): ConfigReloadStatus;
}
