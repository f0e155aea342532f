export { parseNtp, timestamp as ntpTimestamp } from "./parse.js";
export { looksLikeNtp } from "./recognise.js";
export * from "./record.js";
