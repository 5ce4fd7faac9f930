import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DATA_PLANE_HEAP_FLAGS, heapReexecArgs, relaysBytes } from '../../src/cli/heap-flags.ts'

describe('relaysBytes', () => {
  test('running a node relays bytes, with or without config files', () => {
    assert.equal(relaysBytes([]), true)
    assert.equal(relaysBytes(['-c', 'a.yaml', '--config', 'b.yaml']), true)
    assert.equal(relaysBytes(['--config=a.yaml']), true)
  })

  test('the demo relays bytes', () => {
    assert.equal(relaysBytes(['demo', '--base-port', '19000']), true)
  })

  test('tools and printing options do not', () => {
    for (const args of [
      ['check', '-c', 'a.yaml'],
      ['ctl', 'paths'],
      ['scheduler'],
      ['cert', 'ca'],
      ['--help'],
    ])
      assert.equal(relaysBytes(args), false, args.join(' '))
    assert.equal(relaysBytes(['-V']), false)
  })

  test('a config file named like a subcommand is a config file', () => {
    assert.equal(relaysBytes(['-c', 'check']), true)
  })
})

describe('heapReexecArgs', () => {
  test('adds the heap flags before the node options and keeps the arguments', () => {
    const args = heapReexecArgs('/bin/node', ['--cpu-prof'], ['/bin/node', 'main.js', '-c', 'x.yaml'])
    assert.deepEqual(args, ['/bin/node', ...DATA_PLANE_HEAP_FLAGS, '--cpu-prof', 'main.js', '-c', 'x.yaml'])
  })

  test('nothing to do once a heap size is set, by us or the operator', () => {
    assert.equal(heapReexecArgs('/bin/node', [...DATA_PLANE_HEAP_FLAGS], ['/bin/node', 'main.js']), undefined)
    assert.equal(heapReexecArgs('/bin/node', ['--initial-heap-size=32'], ['/bin/node', 'main.js']), undefined)
  })
})
