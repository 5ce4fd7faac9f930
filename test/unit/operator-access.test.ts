import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type AccessPolicy, type AccessRequest, decideAccess, hostNameOf } from '../../src/admin/access.ts'

const OPERATOR = 'operator-token-0123456789'
const VIEWER = 'viewer-token-0123456789'

const LOOPBACK: AccessPolicy = {
  operatorToken: OPERATOR,
  viewerToken: VIEWER,
  boundToLoopback: true,
  hosts: ['admin.example.com'],
}
const BEYOND: AccessPolicy = { ...LOOPBACK, boundToLoopback: false }
const NO_VIEWER: AccessPolicy = { operatorToken: OPERATOR, boundToLoopback: true, hosts: [] }

const HOST = '127.0.0.1:8888'
const JSON_TYPE = 'application/json'
const op = `Bearer ${OPERATOR}`
const viewer = `Bearer ${VIEWER}`

/** What a well-behaved client (curl, ctl) sends for a change. */
const change = (extra: Partial<AccessRequest> = {}): AccessRequest => ({
  need: 'change',
  host: HOST,
  contentType: JSON_TYPE,
  authorization: op,
  ...extra,
})
const read = (extra: Partial<AccessRequest> = {}): AccessRequest => ({ need: 'read', host: HOST, ...extra })

type Expected = `allow ${'anonymous' | 'viewer' | 'operator'}` | `refuse ${string}`

const CASES: readonly (readonly [string, AccessPolicy, AccessRequest, Expected])[] = [
  // The attacks of issue 13, as a browser or a rebinding page sends them.
  [
    'a rebinding page changing a service: foreign Host and Origin, no token',
    LOOPBACK,
    {
      need: 'change',
      host: 'attacker.example',
      origin: 'http://attacker.example',
      contentType: JSON_TYPE,
    },
    'refuse host',
  ],
  [
    'a no-cors POST from another site: Origin, Sec-Fetch-Site, no token, no content type',
    LOOPBACK,
    { need: 'change', host: HOST, origin: 'http://attacker.example', fetchSite: 'cross-site' },
    'refuse cross_site',
  ],
  [
    'a foreign Origin, even with the token',
    LOOPBACK,
    change({ origin: 'http://attacker.example' }),
    'refuse cross_site',
  ],
  [
    'a page on another local port (same site, other origin)',
    LOOPBACK,
    change({ origin: 'http://127.0.0.1:3000' }),
    'refuse cross_site',
  ],
  ['an opaque origin (sandboxed frame, file://)', LOOPBACK, change({ origin: 'null' }), 'refuse cross_site'],
  [
    'Sec-Fetch-Site cross-site without Origin',
    LOOPBACK,
    change({ fetchSite: 'cross-site' }),
    'refuse cross_site',
  ],
  ['Sec-Fetch-Site same-site', LOOPBACK, change({ fetchSite: 'same-site' }), 'refuse cross_site'],
  [
    'a cross-site form POST (a navigation, but a change)',
    LOOPBACK,
    change({ fetchSite: 'cross-site', fetchMode: 'navigate' }),
    'refuse cross_site',
  ],
  [
    'a script of another site reading JSON (no-cors)',
    LOOPBACK,
    read({ fetchSite: 'cross-site', fetchMode: 'no-cors' }),
    'refuse cross_site',
  ],
  [
    'a link from another site to a read (navigation)',
    LOOPBACK,
    read({ fetchSite: 'cross-site', fetchMode: 'navigate' }),
    'allow anonymous',
  ],
  [
    'a link from another site to the UI page',
    BEYOND,
    { need: 'public', host: HOST, fetchSite: 'cross-site', fetchMode: 'navigate' },
    'allow anonymous',
  ],
  [
    'the page itself: same origin',
    LOOPBACK,
    change({ origin: `http://${HOST}`, fetchSite: 'same-origin' }),
    'allow operator',
  ],
  ['a typed URL or bookmark (Sec-Fetch-Site none)', LOOPBACK, read({ fetchSite: 'none' }), 'allow anonymous'],
  [
    'an Origin with the default port and a Host without',
    LOOPBACK,
    change({ host: 'localhost', origin: 'http://localhost:80' }),
    'allow operator',
  ],

  // Host names.
  ['no Host header', LOOPBACK, read({ host: undefined }), 'refuse host'],
  ['an empty Host header', LOOPBACK, read({ host: '' }), 'refuse host'],
  ['Host localhost, any case', LOOPBACK, read({ host: 'LocalHost:8888' }), 'allow anonymous'],
  ['Host [::1]', LOOPBACK, read({ host: '[::1]:8888' }), 'allow anonymous'],
  [
    'Host an IP literal beyond loopback',
    BEYOND,
    read({ host: '10.1.2.3:8888', authorization: viewer }),
    'allow viewer',
  ],
  [
    'Host a configured name, another case and a port',
    LOOPBACK,
    read({ host: 'Admin.Example.com:8888' }),
    'allow anonymous',
  ],
  [
    'Host a name ending like a loopback name',
    LOOPBACK,
    read({ host: 'localhost.attacker.example' }),
    'refuse host',
  ],
  ['Host a subdomain of a configured name', LOOPBACK, read({ host: 'x.admin.example.com' }), 'refuse host'],
  [
    'Host refused on public endpoints too',
    BEYOND,
    { need: 'public', host: 'attacker.example' },
    'refuse host',
  ],

  // Tokens and roles.
  ['a change with the operator token', LOOPBACK, change(), 'allow operator'],
  [
    'a change without a token, on loopback',
    LOOPBACK,
    change({ authorization: undefined }),
    'refuse token_missing',
  ],
  [
    'a change with another scheme',
    LOOPBACK,
    change({ authorization: `Basic ${OPERATOR}` }),
    'refuse token_missing',
  ],
  ['a change with a wrong token', LOOPBACK, change({ authorization: 'Bearer nope' }), 'refuse token_wrong'],
  [
    'a change with a prefix of the token',
    LOOPBACK,
    change({ authorization: `Bearer ${OPERATOR.slice(0, 8)}` }),
    'refuse token_wrong',
  ],
  [
    'a change with the token and more',
    LOOPBACK,
    change({ authorization: `Bearer ${OPERATOR}x` }),
    'refuse token_wrong',
  ],
  ['a change with the viewer token', LOOPBACK, change({ authorization: viewer }), 'refuse viewer_token'],
  [
    'the scheme in any case, spaces around',
    LOOPBACK,
    change({ authorization: `BEARER  ${OPERATOR} ` }),
    'allow operator',
  ],
  ['a read on loopback without a token', LOOPBACK, read(), 'allow anonymous'],
  [
    'a read on loopback with a wrong token',
    LOOPBACK,
    read({ authorization: 'Bearer nope' }),
    'refuse token_wrong',
  ],
  ['a read on loopback with the viewer token', LOOPBACK, read({ authorization: viewer }), 'allow viewer'],
  ['a read beyond loopback without a token', BEYOND, read(), 'refuse token_missing'],
  ['a read beyond loopback with the viewer token', BEYOND, read({ authorization: viewer }), 'allow viewer'],
  ['a read beyond loopback with the operator token', BEYOND, read({ authorization: op }), 'allow operator'],
  [
    'a public endpoint beyond loopback without a token',
    BEYOND,
    { need: 'public', host: HOST },
    'allow anonymous',
  ],
  [
    'a public endpoint ignores a wrong token',
    BEYOND,
    { need: 'public', host: HOST, authorization: 'Bearer nope' },
    'allow anonymous',
  ],
  [
    'the viewer token where none is configured',
    NO_VIEWER,
    read({ authorization: viewer }),
    'refuse token_wrong',
  ],

  // Content type of changes.
  ['a change without a content type', LOOPBACK, change({ contentType: undefined }), 'refuse content_type'],
  ['a change as text/plain', LOOPBACK, change({ contentType: 'text/plain' }), 'refuse content_type'],
  [
    'a change as a form',
    LOOPBACK,
    change({ contentType: 'application/x-www-form-urlencoded' }),
    'refuse content_type',
  ],
  [
    'a change as JSON with a charset',
    LOOPBACK,
    change({ contentType: 'Application/JSON; charset=utf-8' }),
    'allow operator',
  ],
  ['a read needs no content type', LOOPBACK, read({ contentType: 'text/plain' }), 'allow anonymous'],
  [
    'a token refusal comes before the content type',
    LOOPBACK,
    change({ authorization: undefined, contentType: undefined }),
    'refuse token_missing',
  ],
]

describe('decideAccess', () => {
  for (const [name, policy, request, expected] of CASES) {
    test(`${name} → ${expected}`, () => {
      const verdict = decideAccess(policy, request)
      const got = verdict.allowed ? `allow ${verdict.role}` : `refuse ${verdict.refusal.reason}`
      assert.equal(got, expected)
    })
  }

  test('a refusal names what it refused', () => {
    assert.deepEqual(decideAccess(LOOPBACK, read({ host: 'attacker.example:8888' })), {
      allowed: false,
      refusal: { reason: 'host', host: 'attacker.example:8888' },
    })
    assert.deepEqual(decideAccess(LOOPBACK, change({ origin: 'http://attacker.example' })), {
      allowed: false,
      refusal: { reason: 'cross_site', from: 'http://attacker.example' },
    })
    assert.deepEqual(decideAccess(LOOPBACK, change({ fetchSite: 'same-site' })), {
      allowed: false,
      refusal: { reason: 'cross_site', from: 'Sec-Fetch-Site: same-site' },
    })
    assert.deepEqual(decideAccess(LOOPBACK, change({ contentType: 'text/plain' })), {
      allowed: false,
      refusal: { reason: 'content_type', contentType: 'text/plain' },
    })
  })
})

describe('hostNameOf', () => {
  for (const [host, name] of [
    ['127.0.0.1:8888', '127.0.0.1'],
    ['Example.COM', 'example.com'],
    ['example.com:80', 'example.com'],
    ['[::1]:8888', '::1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    [' localhost ', 'localhost'],
  ] as const) {
    test(`${host} → ${name}`, () => assert.equal(hostNameOf(host), name))
  }
})
