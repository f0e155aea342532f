export { DHIP_PORT, DVRIP_DISCOVERY_PORT } from "./dahua.js";
export { DAHUA_P2P_PORT } from "./dahua-p2p.js";
export { recogniseDiscovery, recogniseEtherType } from "./recognise.js";
export * from "./record.js";
export { SADP_ETHERTYPE, SADP_PORT } from "./sadp.js";
export { WSD_PORT } from "./wsd.js";
