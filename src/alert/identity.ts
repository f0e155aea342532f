/**
 * What makes two alerts "the same" and what names one alert. The dedup key is the rule,
 * the device (the source's device id, else its address) and the destination (its name,
 * else its AS, else its address): a camera calling the same cloud every minute is one
 * alert with a count, while the same camera reaching a new cloud is a new alert. The
 * alert id is a hash of what the alert is about and when, so replaying a capture gives
 * the same ids and a receiver can drop a re-sent alert.
 */
import { createHash } from "node:crypto";
import { fieldAt, fieldText } from "../output/record-path.js";

type Json = Record<string, unknown>;

/** The device an alert is about: "mac:44-19-B6-..." or an address. */
export function alertDevice(record: Json): string {
  return (
    fieldText(fieldAt(record, "egressd.source_device.id")) ??
    fieldText(fieldAt(record, "egressd.device.id")) ??
    fieldText(fieldAt(record, "source.ip")) ??
    "-"
  );
}

/** Where it went: the name asked for or reached, else "AS<n>", else the address. */
export function alertDestination(record: Json): string {
  const name =
    fieldText(fieldAt(record, "dns.question.name")) ??
    fieldText(fieldAt(record, "destination.domain"));
  if (name !== undefined) return name;
  const as = fieldText(fieldAt(record, "destination.as.number"));
  if (as !== undefined) return `AS${as}`;
  return fieldText(fieldAt(record, "destination.ip")) ?? "-";
}

/** "EGR-VC-001|mac:44-19-B6-12-34-56|litedev.hik-connect.com". */
export function dedupKey(record: Json): string {
  return `${fieldText(fieldAt(record, "rule.id")) ?? "-"}|${alertDevice(record)}|${alertDestination(record)}`;
}

/** 24 hex digits from the sensor, the dedup key, the packet time and the flow. */
export function alertId(record: Json, sensor: string, key: string, salt = ""): string {
  const h = createHash("sha256");
  h.update(sensor);
  h.update("\0");
  h.update(key);
  h.update("\0");
  h.update(fieldText(record["@timestamp"]) ?? "");
  h.update("\0");
  h.update(fieldText(fieldAt(record, "egressd.trigger")) ?? "");
  h.update("\0");
  h.update(JSON.stringify(fieldAt(record, "egressd.threshold") ?? null));
  h.update("\0");
  h.update(fieldText(fieldAt(record, "network.community_id")) ?? "");
  h.update("\0");
  h.update(salt);
  return h.digest("hex").slice(0, 24);
}
