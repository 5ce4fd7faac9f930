import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { before, describe, it } from 'node:test'
import type { PeerCertificate } from 'node:tls'
import { PkiPeerIdentityError } from '../../src/errors/pki.ts'
import { nodeIdentityOf } from '../../src/pki/identity.ts'
import { createCa, issueNodeCert, type PemPair } from '../../src/pki/issue.ts'
import { checkMeshPeerIdentity } from '../../src/pki/tls-options.ts'

/** The fields of a `tls.PeerCertificate` that identity depends on; the rest do not matter here. */
function peer(fields: { CN?: string | string[]; subjectaltname?: string }): PeerCertificate {
  const { CN, subjectaltname } = fields
  return {
    ...(CN !== undefined && { subject: { CN } }),
    ...(subjectaltname !== undefined && { subjectaltname }),
  } as unknown as PeerCertificate
}

describe('nodeIdentityOf', () => {
  let ca: PemPair

  before(async () => {
    ca = await createCa({ name: 'ca', validDays: 1 })
  })

  it('reads the node id from a certificate issued for it', async () => {
    const pair = await issueNodeCert({
      ca,
      nodeId: 'relay.eu-1',
      validDays: 1,
      hosts: ['10.0.0.1', 'x.example'],
    })
    assert.equal(nodeIdentityOf(new X509Certificate(pair.certPem)), 'relay.eu-1')
  })

  it('falls back to the CN of a certificate without SAN, if the CN is a node name', async () => {
    assert.equal(nodeIdentityOf(new X509Certificate(ca.certPem)), 'ca')
    const spaced = await createCa({ name: 'dev CA', validDays: 1 })
    assert.equal(nodeIdentityOf(new X509Certificate(spaced.certPem)), undefined)
  })

  it('prefers the first DNS SAN over the CN of a peer certificate', () => {
    assert.equal(
      nodeIdentityOf(peer({ CN: 'cn-name', subjectaltname: 'IP Address:127.0.0.1, DNS:san-name, DNS:b' })),
      'san-name',
    )
    assert.equal(nodeIdentityOf(peer({ CN: 'cn-name', subjectaltname: 'IP Address:127.0.0.1' })), 'cn-name')
    assert.equal(nodeIdentityOf(peer({ CN: 'cn-name' })), 'cn-name')
    assert.equal(nodeIdentityOf(peer({ CN: ['first', 'second'] })), 'first')
  })

  it('is undefined for no certificate, or names that are no node name', () => {
    assert.equal(nodeIdentityOf(peer({})), undefined)
    assert.equal(nodeIdentityOf(peer({ subjectaltname: 'DNS:*.example' })), undefined)
    assert.equal(nodeIdentityOf(peer({ CN: 'a b' })), undefined)
    // A quoted SAN value (Node quotes values with separators in them) must not smuggle in a name.
    assert.equal(nodeIdentityOf(peer({ subjectaltname: 'DNS:"x, DNS:node-2"' })), undefined)
    assert.equal(nodeIdentityOf(peer({ subjectaltname: 'URI:"http://a, DNS:node-2"' })), undefined)
  })
})

describe('checkMeshPeerIdentity', () => {
  it('accepts exactly the peer dialed, whatever host was dialed', () => {
    const check = checkMeshPeerIdentity('node-2')
    assert.equal(check('127.0.0.1', peer({ subjectaltname: 'DNS:node-2' })), undefined)
    assert.equal(check('node-2', peer({ CN: 'node-2' })), undefined)
  })

  it('rejects another node, a prefix, or no identity, with a coded error', () => {
    const check = checkMeshPeerIdentity('node-2')
    for (const [cert, actual] of [
      [peer({ subjectaltname: 'DNS:node-3' }), '"node-3"'],
      [peer({ subjectaltname: 'DNS:node-22' }), '"node-22"'],
      [peer({}), '(none)'],
    ] as const) {
      const err = check('node-2', cert)
      assert.ok(err instanceof PkiPeerIdentityError)
      assert.equal(err.code, 'DYN_ERR_PKI_PEER_IDENTITY')
      assert.match(
        err.message,
        new RegExp(
          `^peer certificate identity ${actual.replace(/[()]/g, '\\$&')} does not match the peer dialed "node-2"`,
        ),
      )
    }
  })
})
