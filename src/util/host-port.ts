/** `host:port`, with IPv6 hosts in brackets as URLs and configs write them. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** Splits a `host:port` the config has already checked; an IPv6 host comes back without brackets. */
export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':')
  const host = address.slice(0, colon)
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(address.slice(colon + 1)) }
}
