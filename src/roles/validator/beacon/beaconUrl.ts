/**
 * Beacon node URLs as the user gives them may carry secrets: hosted providers put API keys in the userinfo,
 * the path or the query. Requests need the secret; logs, errors, metrics and `r3dv status` must never show it.
 */
export interface BeaconTarget {
  /** The URL without credentials or a trailing slash: what requests are built on. */
  url: string;
  /** What logs, errors and metrics show: scheme, host and port, the rest masked. */
  label: string;
  /** Basic authorization from the URL's userinfo (fetch refuses URLs that carry credentials). */
  headers: Record<string, string>;
}

export function redactUrl(raw: string): string {
  const u = new URL(raw);
  const auth = u.username || u.password ? "***@" : "";
  const path = u.pathname.replace(/\/+$/, "") !== "" ? "/***" : "";
  const query = u.search ? "?***" : "";
  return `${u.protocol}//${auth}${u.host}${path}${query}`;
}

export function beaconTarget(raw: string): BeaconTarget {
  const u = new URL(raw);
  const headers: Record<string, string> = {};
  if (u.username || u.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64")}`;
    u.username = "";
    u.password = "";
  }
  return {url: u.toString().replace(/\/+$/, ""), label: redactUrl(raw), headers};
}

/** Replaces the target's real URL in a library's error text (Lodestar's fetch errors quote it) with its label. */
export function scrubUrl(target: BeaconTarget, text: string): string {
  return text.split(target.url).join(target.label);
}
