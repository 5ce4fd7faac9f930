/**
 * Certificates start this long before they are issued: clocks on other machines that run behind
 * the issuer's still accept them. A holder that counts a certificate's life counts from after it.
 */
export const CLOCK_SKEW_MS = 5 * 60_000
