/**
 * Text the wire formats carry: node names, route ids, targets. Besides ASCII they mix in the
 * characters decoders get wrong: a byte-order mark (a UTF-8 decoder may drop it), NUL, two-,
 * three- and four-byte sequences.
 */
import fc from 'fast-check'

const tricky = fc.constantFrom('\uFEFF', '\u0000', 'é', '€', '😀', ' ', ':', '\n')

const textUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: tricky },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
)

/** Well-formed text of 1..maxBytes UTF-8 bytes. */
export function text(maxBytes: number, maxChars = 24): fc.Arbitrary<string> {
  return fc
    .array(textUnit, { minLength: 1, maxLength: maxChars })
    .map((parts) => parts.join(''))
    .filter((s) => Buffer.byteLength(s, 'utf8') <= maxBytes)
}

/** Host names as the target pattern allows them: letters, digits, dot, dash, underscore. */
const hostName = fc.stringMatching(/^[A-Za-z0-9._-]{1,60}$/)

export const port = fc.integer({ min: 1, max: 65_535 })

/** `host:port` with a name, an IPv4 or a bracketed IPv6 host. */
export const target: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      hostName,
      fc.ipV4(),
      fc.ipV6().map((a) => `[${a}]`),
    ),
    port,
  )
  .map(([host, p]) => `${host}:${p}`)

export const id16 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a))
