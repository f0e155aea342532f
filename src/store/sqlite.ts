/**
 * egressd's SQLite database (better-sqlite3, WAL): opening, recognising and migrating it.
 * The file is marked as egressd's with PRAGMA application_id and versioned with PRAGMA
 * user_version, so that pointing egressd at some other SQLite file (or at a file that is
 * not SQLite at all) is a clear error instead of tables created in someone else's data.
 * Later issues add their tables as new migrations here.
 */

import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";

export const DEFAULT_DB_PATH = "./data/egressd.db";

/** "egrd" in ASCII: PRAGMA application_id of every egressd database. */
export const APPLICATION_ID = 0x65677264;

/**
 * Migrations by schema version: MIGRATIONS[n] takes a database from version n to n + 1.
 * Never edit one that has shipped; add the next.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     mac TEXT,
     maker TEXT,
     device_group TEXT,
     role TEXT,
     first_seen TEXT NOT NULL,
     last_seen TEXT NOT NULL,
     -- the whole device as JSON (src/inventory/device.ts DeviceView): the columns above
     -- are copies for sqlite3 users and indexes
     record TEXT NOT NULL
   );
   CREATE INDEX devices_last_seen ON devices (last_seen);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // Issue 6: every alert is stored before any sink sees it; each sink has its durable
  // queue (a copy of the record, so store retention never touches undelivered alerts);
  // dedup state survives restarts.
  `CREATE TABLE alerts (
     id TEXT PRIMARY KEY,
     ts_ms INTEGER NOT NULL,
     rule_id TEXT NOT NULL,
     severity TEXT NOT NULL,
     device TEXT,
     dedup_key TEXT NOT NULL,
     record TEXT NOT NULL
   );
   CREATE INDEX alerts_ts ON alerts (ts_ms);
   CREATE INDEX alerts_rule ON alerts (rule_id, ts_ms);
   CREATE TABLE alert_queue (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     sink TEXT NOT NULL,
     alert_id TEXT NOT NULL,
     severity TEXT NOT NULL,
     body TEXT NOT NULL,
     enqueued_ms INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     UNIQUE (sink, alert_id)
   );
   CREATE INDEX alert_queue_sink ON alert_queue (sink, seq);
   CREATE TABLE alert_dedup (
     key TEXT PRIMARY KEY,
     rule_id TEXT NOT NULL,
     cooldown_ms INTEGER NOT NULL,
     sent_ms INTEGER NOT NULL,
     folded INTEGER NOT NULL,
     first_folded_ms INTEGER NOT NULL,
     last_folded_ms INTEGER NOT NULL,
     -- the last folded alert, for the summary that reports the repeats
     pending TEXT
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The database cannot be used; the message says which file and why. */
export class StoreError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}

// The subset of better-sqlite3 egressd uses (the package ships no type declarations).
export interface RunResult {
  changes: number;
}

export interface Statement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
  readonly open: boolean;
}

type DatabaseConstructor = new (
  path: string,
  options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
) => Database;

let constructorCache: DatabaseConstructor | null = null;

/** Loaded on first use: the native module is needed only when a store is opened. */
function sqlite(): DatabaseConstructor {
  if (constructorCache === null) {
    const require = createRequire(import.meta.url);
    constructorCache = require("better-sqlite3") as DatabaseConstructor;
  }
  return constructorCache;
}

export interface OpenOptions {
  /** Read only: the file must exist and be an egressd database of the current schema. */
  readonly?: boolean;
}

/** Opens (creating and migrating when writable) egressd's database at `path`. */
export function openDatabase(path: string, options: OpenOptions = {}): Database {
  const readonly = options.readonly === true;
  if (readonly && !existsSync(path)) {
    throw new StoreError(path, `${path}: no egressd database there`);
  }
  if (!readonly) mkdirSync(dirname(path), { recursive: true });
  let db: Database;
  try {
    const Database = sqlite();
    db = new Database(path, { readonly, fileMustExist: readonly, timeout: 5000 });
  } catch (err) {
    throw new StoreError(path, `${path}: cannot open: ${(err as Error).message}`);
  }
  try {
    prepare(db, path, readonly);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function prepare(db: Database, path: string, readonly: boolean): void {
  let appId: number;
  let version: number;
  let tables: string[];
  try {
    appId = db.pragma("application_id", { simple: true }) as number;
    version = db.pragma("user_version", { simple: true }) as number;
    tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
        name: string;
      }[]
    ).map((t) => t.name);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "SQLITE_NOTADB")
      throw new StoreError(path, `${path} is not an egressd database: it is not an SQLite file`);
    throw new StoreError(path, `${path}: cannot read: ${(err as Error).message}`);
  }
  const empty = appId === 0 && version === 0 && tables.length === 0;
  if (appId !== APPLICATION_ID && !empty) {
    const what = tables.length > 0 ? `tables ${tables.slice(0, 5).join(", ")}` : "no tables";
    throw new StoreError(
      path,
      `${path} is not an egressd database (SQLite application_id ${appId}, ${what}); give egressd a path of its own`,
    );
  }
  if (empty && readonly)
    throw new StoreError(path, `${path}: no egressd database there (empty file)`);
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      path,
      `${path} was written by a newer egressd (schema ${version}; this one knows up to ${SCHEMA_VERSION})`,
    );
  }
  if (readonly) {
    if (version < SCHEMA_VERSION)
      throw new StoreError(
        path,
        `${path} has schema ${version}, this egressd reads ${SCHEMA_VERSION}: open it once for writing (egressd replay --inventory) to upgrade it`,
      );
    return;
  }
  // WAL: the daemon writes while `egressd devices` reads; NORMAL is durable enough in WAL
  // mode (a crash loses at most the last flush, never the file).
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  if (version < SCHEMA_VERSION) {
    db.transaction(() => {
      for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }
}
