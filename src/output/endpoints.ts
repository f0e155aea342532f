import { communityId } from "../flow/community-id.js";
import type { Flow } from "../flow/flow.js";
import type { EventEndpoints } from "../protocols/flow-app.js";
import { formatIp } from "../util/ip-text.js";
import { addEndpointGeo } from "./enrichment-fields.js";
import { recordHasPorts, transportName } from "./flow-record.js";

/**
 * The endpoint fields a flow's protocol events and alerts share: addresses and ports,
 * GeoIP answers, transport, Community ID and VLAN.
 */
export function endpointsOf(flow: Flow): EventEndpoints {
  if (flow.communityId === "") flow.communityId = communityId(flow);
  const source: EventEndpoints["source"] = {
    ip: formatIp(flow.ipVersion, flow.src0, flow.src1, flow.src2, flow.src3),
  };
  const destination: EventEndpoints["destination"] = {
    ip: formatIp(flow.ipVersion, flow.dst0, flow.dst1, flow.dst2, flow.dst3),
  };
  if (recordHasPorts(flow.proto)) {
    source.port = flow.srcPort;
    destination.port = flow.dstPort;
  }
  const network: EventEndpoints["network"] = {
    transport: transportName(flow.proto),
    community_id: flow.communityId,
  };
  if (flow.vlanOuter >= 0) network.vlan = { id: String(flow.vlanOuter) };
  // Enrichment ran when the flow started, before any event could be built.
  if (flow.srcGeo !== null) addEndpointGeo(source, flow.srcGeo);
  if (flow.dstGeo !== null) addEndpointGeo(destination, flow.dstGeo);
  return { source, destination, network };
}
