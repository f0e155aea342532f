/**
 * Builds TLS hellos, handshake messages and records for tests, with correct lengths
 * unless a test overrides one to make it lie.
 */

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

export interface Extension {
  type: number;
  data: Buffer;
}

export const ext = {
  sni(name: string): Extension {
    const host = Buffer.from(name, "latin1");
    const entry = Buffer.concat([Buffer.from([0]), u16(host.length), host]);
    return { type: 0, data: Buffer.concat([u16(entry.length), entry]) };
  },
  alpn(names: (string | Buffer)[]): Extension {
    const list = Buffer.concat(
      names.map((n) => {
        const b = typeof n === "string" ? Buffer.from(n, "latin1") : n;
        return Buffer.concat([Buffer.from([b.length]), b]);
      }),
    );
    return { type: 16, data: Buffer.concat([u16(list.length), list]) };
  },
  supportedVersions(versions: number[]): Extension {
    const list = Buffer.concat(versions.map(u16));
    return { type: 43, data: Buffer.concat([Buffer.from([list.length]), list]) };
  },
  u16List(type: number, values: number[]): Extension {
    const list = Buffer.concat(values.map(u16));
    return { type, data: Buffer.concat([u16(list.length), list]) };
  },
  pointFormats(values: number[]): Extension {
    return { type: 11, data: Buffer.from([values.length, ...values]) };
  },
  empty(type: number): Extension {
    return { type, data: Buffer.alloc(0) };
  },
};

function extensionsBlock(exts: Extension[]): Buffer {
  const body = Buffer.concat(
    exts.map((e) => Buffer.concat([u16(e.type), u16(e.data.length), e.data])),
  );
  return Buffer.concat([u16(body.length), body]);
}

export interface ClientHelloSpec {
  version?: number;
  sessionId?: Buffer;
  ciphers: number[];
  compression?: number[];
  extensions: Extension[];
}

/** A ClientHello body (no handshake header). */
export function clientHelloBody(spec: ClientHelloSpec): Buffer {
  const sid = spec.sessionId ?? Buffer.alloc(0);
  const comp = spec.compression ?? [0];
  return Buffer.concat([
    u16(spec.version ?? 0x0303),
    Buffer.alloc(32, 0x11),
    Buffer.from([sid.length]),
    sid,
    u16(spec.ciphers.length * 2),
    ...spec.ciphers.map(u16),
    Buffer.from([comp.length, ...comp]),
    extensionsBlock(spec.extensions),
  ]);
}

export interface ServerHelloSpec {
  version?: number;
  random?: Buffer;
  sessionId?: Buffer;
  cipher: number;
  compression?: number;
  extensions: Extension[];
}

export function serverHelloBody(spec: ServerHelloSpec): Buffer {
  const sid = spec.sessionId ?? Buffer.alloc(0);
  return Buffer.concat([
    u16(spec.version ?? 0x0303),
    spec.random ?? Buffer.alloc(32, 0x22),
    Buffer.from([sid.length]),
    sid,
    u16(spec.cipher),
    Buffer.from([spec.compression ?? 0]),
    extensionsBlock(spec.extensions),
  ]);
}

/** A TLS 1.2 Certificate message body from DER certificates. */
export function certificateBody(ders: Buffer[]): Buffer {
  const list = Buffer.concat(ders.map((d) => Buffer.concat([u24(d.length), d])));
  return Buffer.concat([u24(list.length), list]);
}

/** A handshake message: type(1) length(3) body. */
export function handshake(type: number, body: Buffer, lengthOverride?: number): Buffer {
  return Buffer.concat([Buffer.from([type]), u24(lengthOverride ?? body.length), body]);
}

/** A TLS record: type(1) version(2) length(2) fragment. */
export function record(
  type: number,
  fragment: Buffer,
  version = 0x0301,
  lengthOverride?: number,
): Buffer {
  return Buffer.concat([
    Buffer.from([type]),
    u16(version),
    u16(lengthOverride ?? fragment.length),
    fragment,
  ]);
}

/** Handshake bytes cut into records of at most `max` bytes each. */
export function records(type: number, bytes: Buffer, max = 16384, version = 0x0303): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += max)
    parts.push(record(type, bytes.subarray(i, i + max), version));
  return Buffer.concat(parts);
}
