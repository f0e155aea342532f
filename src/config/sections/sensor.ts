import { hostname } from "node:os";
import { field, type Infer, object, string } from "../schema.js";

export const sensorSection = object({
  name: field(
    string({ minLength: 1, maxLength: 253 }),
    "Name of this sensor in alerts, records and metrics. Default: the host name.",
    { default: () => hostname() },
  ),
});

export type SensorConfig = Infer<typeof sensorSection>;
