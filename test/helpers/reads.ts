/**
 * The most one socket read hands to JavaScript: 64 KiB on Node, 512 KiB on Bun. A flow paused at
 * a limit overshoots it by at most one read, so bounds in tests add this.
 */
export const MAX_READ_BYTES = 512 * 1024
