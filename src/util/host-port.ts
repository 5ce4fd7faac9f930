/** `host:port`, with IPv6 hosts in brackets as URLs and configs write them. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
