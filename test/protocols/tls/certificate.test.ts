/**
 * X.509 fields from certificates made by the openssl CLI at test time: names with
 * RFC 4514 punctuation, a subjectAltName crafted to smuggle an extra entry, weak and
 * modern keys, and the difference between self-issued and self-signed. openssl's own
 * `x509 -noout` output is the reference.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { TlsAnomalyList } from "../../../src/protocols/tls/anomalies.js";
import {
  certificateCacheStats,
  describeCertificate,
} from "../../../src/protocols/tls/certificate.js";
import type { TlsCertificateInfo } from "../../../src/protocols/tls/record.js";

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasOpenssl())("describeCertificate on openssl-made certificates", () => {
  let dir: string;
  const openssl = (...args: string[]) =>
    execFileSync("openssl", args, {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });

  function describeFile(pem: string): { info: TlsCertificateInfo; anomalies: string[] } {
    openssl("x509", "-in", pem, "-outform", "DER", "-out", `${pem}.der`);
    const der = readFileSync(join(dir, `${pem}.der`));
    // Inside a bigger buffer, at an offset, as it sits in a Certificate message.
    const buf = Buffer.concat([Buffer.alloc(7, 0xaa), der, Buffer.alloc(5, 0xbb)]);
    const anomalies = new TlsAnomalyList();
    const info = describeCertificate(buf, 7, der.length, anomalies);
    return { info, anomalies: anomalies.names };
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "egressd-tls-cert-"));
    writeFileSync(
      join(dir, "alt.cnf"),
      [
        "[req]",
        "distinguished_name=dn",
        "[dn]",
        "[ext]",
        "subjectAltName=@alt",
        "[alt]",
        // One DNS name that contains ", DNS:": it must stay one entry.
        "DNS.1 = evil.test, DNS:forged.test",
        "DNS.2 = ok.test",
        "IP.1 = 192.0.2.1",
        "IP.2 = 2001:db8:0:0:1:0:0:1",
        "",
      ].join("\n"),
    );
    openssl(
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-keyout", "hostile.key", "-out", "hostile.pem", "-days", "1"],
      ...["-subj", "/C=US/O=a\\+b, Inc./CN=x, y", "-config", "alt.cnf", "-extensions", "ext"],
    );
    openssl(
      ...["req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key"],
      ...["-out", "weak.pem", "-days", "1", "-subj", "/CN=ipc.example.test"],
    );
    openssl(
      ...["req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", "ed.key"],
      ...["-out", "ed.pem", "-days", "1", "-subj", "/CN=ed.example.test"],
    );
    // A CA and a leaf with the same name: self-issued, but not self-signed.
    openssl(
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-keyout", "same-ca.key", "-out", "same-ca.pem", "-days", "1", "-subj", "/CN=Same"],
    );
    openssl(
      ...["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-keyout", "same.key", "-out", "same.csr", "-subj", "/CN=Same"],
    );
    openssl(
      ...["x509", "-req", "-in", "same.csr", "-CA", "same-ca.pem", "-CAkey", "same-ca.key"],
      ...["-CAcreateserial", "-days", "1", "-out", "same.pem"],
    );
  });

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test("a certificate seen again comes from the cache, identical, without shared arrays", () => {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "cache.key",
      "-out",
      "cache.pem",
      "-days",
      "2",
      "-subj",
      "/CN=cache.example.test",
    );
    const hitsBefore = certificateCacheStats.hits;
    const first = describeFile("cache.pem");
    const second = describeFile("cache.pem");
    expect(certificateCacheStats.hits).toBe(hitsBefore + 1);
    expect(second).toEqual(first);
    second.info.san_dns.push("mutated.example");
    expect(describeFile("cache.pem").info.san_dns).toEqual(first.info.san_dns);
  });

  test("RFC 4514 names, and a SAN that tries to forge an extra entry", () => {
    const { info, anomalies } = describeFile("hostile.pem");
    expect(anomalies).toEqual([]);
    expect(info.subject).toBe("CN=x\\, y,O=a\\+b\\, Inc.,C=US");
    expect(info.subject_cn).toBe("x, y");
    expect(info.san_dns).toEqual(["evil.test, DNS:forged.test", "ok.test"]);
    expect(info.san_ip).toEqual(["192.0.2.1", "2001:db8::1:0:0:1"]);
    expect(info.self_signed).toBe(true);
    expect(info.key_curve).toBe("prime256v1");
  });

  test("serial, validity and fingerprint agree with openssl x509", () => {
    const { info } = describeFile("weak.pem");
    const out = openssl(
      ...["x509", "-in", "weak.pem", "-noout", "-serial", "-startdate", "-enddate"],
      ...["-fingerprint", "-sha256"],
    );
    const field = (name: string) =>
      out
        .split("\n")
        .find((l) => l.startsWith(`${name}=`))!
        .slice(name.length + 1);
    expect(info.serial).toBe(field("serial"));
    expect(info.not_before).toBe(new Date(field("notBefore")).toISOString());
    expect(info.not_after).toBe(new Date(field("notAfter")).toISOString());
    expect(info.sha256).toBe(field("sha256 Fingerprint").replaceAll(":", ""));
    expect(info).toMatchObject({ key_type: "rsa", key_bits: 1024, self_signed: true, is_ca: true });
  });

  test("Ed25519 keys verify too", () => {
    const { info } = describeFile("ed.pem");
    expect(info).toMatchObject({
      key_type: "ed25519",
      self_signed: true,
      subject_cn: "ed.example.test",
    });
  });

  test("same subject and issuer but signed by another key: not self-signed", () => {
    const { info } = describeFile("same.pem");
    expect(info.subject).toBe(info.issuer);
    expect(info.self_signed).toBe(false);
    expect(describeFile("same-ca.pem").info.self_signed).toBe(true);
  });

  test("DER with bytes after the certificate is refused", () => {
    openssl("x509", "-in", "ed.pem", "-outform", "DER", "-out", "ed.der");
    const der = Buffer.concat([readFileSync(join(dir, "ed.der")), Buffer.from([0])]);
    const anomalies = new TlsAnomalyList();
    const info = describeCertificate(der, 0, der.length, anomalies);
    expect(anomalies.names).toEqual(["tls_certificate_unparsable"]);
    expect(info.subject).toBeUndefined();
    expect(info.der_length).toBe(der.length);
  });
});
