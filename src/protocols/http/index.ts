export { HttpConnection, type HttpSink } from "./connection.js";
export { bodyMagic } from "./magic.js";
export { looksLikeHttpRequest, looksLikeHttpResponse } from "./recognise.js";
export * from "./record.js";
export {
  type HttpMessage,
  type HttpMessageEvents,
  HttpMessageStream,
  type HttpOptions,
  resolveHttpOptions,
} from "./stream.js";
