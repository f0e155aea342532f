import type { GeoAnswer } from "../enrich/geoip/index.js";
import type { Flow } from "../flow/flow.js";
import type { DeviceSummary } from "../inventory/index.js";

/**
 * ECS `geo` and `as` fields of one endpoint, and egressd's `scope` (ECS has no field for
 * "this address is RFC 1918 / multicast / the internet"). Special ranges never get a
 * country: the GeoIP module answers only the scope for them.
 */
export function addEndpointGeo(endpoint: Record<string, unknown>, answer: GeoAnswer): void {
  endpoint.scope = answer.scope;
  if (answer.countryIso !== undefined) {
    const geo: Record<string, unknown> = { country_iso_code: answer.countryIso };
    if (answer.countryName !== undefined) geo.country_name = answer.countryName;
    if (answer.cityName !== undefined) geo.city_name = answer.cityName;
    endpoint.geo = geo;
  }
  if (answer.asNumber !== undefined) {
    const as: Record<string, unknown> = { number: answer.asNumber };
    if (answer.asOrganization !== undefined) as.organization = { name: answer.asOrganization };
    endpoint.as = as;
  }
}

/** Which databases answered for an endpoint, so an analyst can weigh the answer. */
function sources(answer: GeoAnswer): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (answer.countrySource !== undefined) out.country = answer.countrySource;
  if (answer.asSource !== undefined) out.as = answer.asSource;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The device fields a flow record carries: who it is, its group and role, its maker. */
function deviceFields(device: DeviceSummary): Record<string, unknown> {
  const out: Record<string, unknown> = { id: device.id };
  if (device.group !== undefined) out.group = device.group;
  if (device.role !== undefined) out.role = device.role;
  if (device.maker !== undefined) out.maker = device.maker;
  if (device.model !== undefined) out.model = device.model;
  if (device.randomised_mac) out.randomised_mac = true;
  return out;
}

/** Adds the flow's GeoIP answers and devices to a flow record (docs/FLOW-RECORD.md). */
export function addEnrichmentFields(record: Record<string, unknown>, flow: Flow): void {
  const source = record.source as Record<string, unknown> | undefined;
  const destination = record.destination as Record<string, unknown> | undefined;
  const geoip: Record<string, unknown> = {};
  if (flow.srcGeo !== null && source !== undefined) {
    addEndpointGeo(source, flow.srcGeo);
    const s = sources(flow.srcGeo);
    if (s !== undefined) geoip.source = s;
  }
  if (flow.dstGeo !== null && destination !== undefined) {
    addEndpointGeo(destination, flow.dstGeo);
    const s = sources(flow.dstGeo);
    if (s !== undefined) geoip.destination = s;
  }
  if (record.egressd === undefined) record.egressd = {};
  const egressd = record.egressd as Record<string, unknown>;
  if (Object.keys(geoip).length > 0) egressd.geoip = geoip;
  if (flow.srcDevice !== null) egressd.source_device = deviceFields(flow.srcDevice);
  if (flow.dstDevice !== null) egressd.destination_device = deviceFields(flow.dstDevice);
}
