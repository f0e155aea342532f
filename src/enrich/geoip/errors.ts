/** A database that cannot be used, or a bad option. The message names the path and what is wrong. */
export class GeoIpError extends Error {
  readonly path?: string;

  constructor(message: string, path?: string) {
    super(path === undefined ? message : `${path}: ${message}`);
    this.name = "GeoIpError";
    if (path !== undefined) this.path = path;
  }
}
