import assert from 'node:assert/strict'
import { test } from 'node:test'
import { namedFiles } from '../../src/cli/named-files.ts'

test('namedFiles: every file a config names, at its key path, and the groups that are whole', () => {
  const named = namedFiles({
    listeners: [
      { name: 'plain', bind: '127.0.0.1:1' },
      {
        name: 'web',
        tls: { cert: 'w.pem', key: 'w-key.pem', client_ca: 'clients.pem', min_version: 'TLSv1.3' },
      },
      { name: 'half', tls: { cert: 'h.pem' } },
    ],
    mesh: { tls: { cert: 'n.pem', key: 'n-key.pem', ca: 'ca.pem' } },
    plugins: [
      { name: 'local', module: './plugins/p.mjs' },
      { name: 'pkg', module: 'dynproxy-plugin-x' },
    ],
    scheduler: { address: 'embedded', config: 'scheduler.yaml' },
  })
  assert.deepEqual(
    named.refs.map((r) => [r.path.join('.'), r.file]),
    [
      ['listeners.1.tls.cert', 'w.pem'],
      ['listeners.1.tls.key', 'w-key.pem'],
      ['listeners.1.tls.client_ca', 'clients.pem'],
      ['listeners.2.tls.cert', 'h.pem'],
      ['mesh.tls.cert', 'n.pem'],
      ['mesh.tls.key', 'n-key.pem'],
      ['mesh.tls.ca', 'ca.pem'],
      ['plugins.0.module', './plugins/p.mjs'],
      ['scheduler.config', 'scheduler.yaml'],
    ],
  )
  assert.deepEqual(
    named.groups.map((g) => [g.kind, g.at.join('.')]),
    [
      ['listener_tls', 'listeners.1.tls'],
      ['mesh_tls', 'mesh.tls'],
      ['plugin', 'plugins.0.module'],
      ['plugin', 'plugins.1.module'],
      ['scheduler_config', 'scheduler.config'],
    ],
    'the half listener makes no group: the schema reports its missing key',
  )
  const web = named.groups[0]
  assert.ok(web?.kind === 'listener_tls')
  assert.equal(web.listener, 'web')
  assert.equal(web.minVersion, 'TLSv1.3')
  assert.equal(web.clientCa?.file, 'clients.pem')
})

test('namedFiles: values of the wrong type or shape name no file', () => {
  for (const document of [
    null,
    'text',
    [],
    { listeners: 'x', mesh: [], plugins: {} },
    {
      listeners: [{ tls: { cert: 7, key: '' } }],
      mesh: { tls: 'x' },
      plugins: [{ module: 3 }],
      scheduler: { config: {} },
    },
  ]) {
    assert.deepEqual(namedFiles(document), { refs: [], groups: [] }, JSON.stringify(document))
  }
})
