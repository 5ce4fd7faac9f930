import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfigText } from '../../src/config/index.ts'
import { checkOpenRequest, type RelayPolicy, targetAllowList } from '../../src/mesh/security/policy.ts'
import type { OpenRequest } from '../../src/mesh/wire/request.ts'

const config = (meshExtra: string) =>
  loadConfigText(
    `common: { node_id: relay }
mesh: { bind: "127.0.0.1:0", token: "0123456789abcdef0123"${meshExtra} }
routes: [{ name: db, match: { port: 5432 }, target: "10.9.9.9:5432" }]
`,
    'relay.yaml',
  )

function policy(meshExtra = ''): RelayPolicy {
  const c = config(meshExtra)
  return {
    nodeId: 'relay',
    maxHops: 8,
    peers: new Set(),
    targetAllowed: targetAllowList(c.routes, c.mesh?.allowTargets),
  }
}

function request(target: string): OpenRequest {
  return {
    flowId: Buffer.alloc(16),
    sourceNodeId: 'ingress',
    remainingHops: 4,
    visited: ['ingress'],
    remainingPath: [],
    target,
    mode: 'raw',
    subflowIndex: 0,
  }
}

describe('the targets a relay connects to for others', () => {
  it('always: the targets its own routes name', () => {
    assert.equal(checkOpenRequest(request('10.9.9.9:5432'), policy(), false), undefined)
    assert.equal(checkOpenRequest(request('10.9.9.9:5432'), policy(', allow_targets: []'), true), undefined)
  })

  it('without mesh.allow_targets: what a verified path token names, nothing else', () => {
    assert.equal(checkOpenRequest(request('192.0.2.1:80'), policy(), true), undefined)
    assert.equal(checkOpenRequest(request('192.0.2.1:80'), policy(), false)?.status, 'target_not_allowed')
  })

  it('with mesh.allow_targets: only its ranges, whatever a path token says', () => {
    const capped = policy(', allow_targets: ["10.0.0.0/8:443"]')
    assert.equal(checkOpenRequest(request('10.1.2.3:443'), capped, false), undefined)
    assert.equal(checkOpenRequest(request('10.1.2.3:443'), capped, true), undefined)
    assert.deepEqual(checkOpenRequest(request('10.1.2.3:80'), capped, true), {
      status: 'target_not_allowed',
      message:
        'relay may not connect to 10.1.2.3:80 (hint: a path token reaches no further than mesh.allow_targets)',
    })
    assert.equal(checkOpenRequest(request('db.internal:443'), capped, true)?.status, 'target_not_allowed')
    const nothing = policy(', allow_targets: []')
    assert.equal(checkOpenRequest(request('192.0.2.1:80'), nothing, true)?.status, 'target_not_allowed')
  })
})
