/** The server at the far end of the proxy, started once per scenario and shared by all candidates. */
export interface Backend {
  readonly port: number
  /** The path wrk requests, for HTTP backends. */
  readonly path?: string
  stop(): Promise<void>
}
