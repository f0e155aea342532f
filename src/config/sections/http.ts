import { path } from "../kinds.js";
import { boolean, field, type Infer, object, optional, string } from "../schema.js";

export const httpSection = object({
  listen: field(
    string({ minLength: 1 }),
    'Address of /metrics, /healthz, /readyz and /api/*: "127.0.0.1:9810", "[::1]:9810", ":9810" (all interfaces); "" turns the listener off.',
    { default: "127.0.0.1:9810" },
  ),
  token_file: optional(
    path(),
    "File holding a bearer token every request must carry (Authorization: Bearer ...). Required off loopback unless allow_unauthenticated.",
  ),
  cert_file: optional(path(), "PEM certificate: serve HTTPS."),
  key_file: optional(path(), "PEM key of cert_file."),
  allow_unauthenticated: field(
    boolean(),
    "Allow listening off loopback without a token (the metrics name devices and destinations).",
    { default: false },
  ),
});

export type HttpConfig = Infer<typeof httpSection>;
