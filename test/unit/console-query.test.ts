import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SseParser } from '../../console/shared/sse.ts'
import {
  readEventsQuery,
  readGainQuery,
  readTimelineQuery,
  readWhyQuery,
} from '../../src/scheduler/console/query.ts'
import { readEventId, sseFrame } from '../../src/scheduler/console/stream.ts'

describe('console query strings', () => {
  test('the timeline takes kinds, node, service, after, since (a time or a duration back) and limit', () => {
    const read = readTimelineQuery(
      { kind: 'nack,path_switch', node: 'a', after: '7', since: '10m', limit: '20' },
      3_600_000,
    )
    assert.ok('value' in read)
    assert.deepEqual([...(read.value.kinds ?? [])], ['nack', 'path_switch'])
    assert.equal(read.value.node, 'a')
    assert.equal(read.value.afterId, 7)
    assert.equal(read.value.sinceMs, 3_000_000)
    assert.equal(read.value.limit, 20)
    const iso = readTimelineQuery({ since: '2026-01-01T00:00:00Z' }, 0)
    assert.ok('value' in iso && iso.value.sinceMs === Date.parse('2026-01-01T00:00:00Z'))
  })

  const problems: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown parameter', { level: 'x' }, /unknown query parameter "level" \(known: kind, node/],
    ['an unknown kind', { kind: 'nack,reboot' }, /kind: unknown event kind "reboot"/],
    ['a bad limit', { limit: '0' }, /limit: expected an integer from 1 to 5000, got "0"/],
    ['a bad id', { after: '-1' }, /after: expected an event id/],
    ['a bad since', { since: 'yesterday' }, /since: expected an ISO time or a duration/],
    ['an empty node', { node: '' }, /node: expected a non-empty name/],
  ]
  for (const [name, query, message] of problems) {
    test(`names ${name}`, () => {
      const read = readTimelineQuery(query, 0)
      assert.ok('problem' in read, name)
      assert.match(read.problem, message)
    })
  }

  test('events, why and gain', () => {
    assert.deepEqual(readEventsQuery({ after: '12' }), { value: { afterId: 12, replay: 500 } })
    assert.deepEqual(readEventsQuery({ replay: '0' }), { value: { replay: 0 } })
    assert.match(
      (readEventsQuery({ replay: 'all' }) as { problem: string }).problem,
      /replay: expected an integer from 0 to 5000/,
    )
    assert.match(
      (readEventsQuery({ since: '1' }) as { problem: string }).problem,
      /unknown query parameter "since"/,
    )
    assert.deepEqual(readWhyQuery({ service: 'web' }), { value: { service: 'web' } })
    assert.deepEqual(readGainQuery({ key: 'web|a|listener:web' }), {
      value: { key: 'web|a|listener:web', points: 240 },
    })
    assert.match((readGainQuery({}) as { problem: string }).problem, /key: name a selection/)
    assert.match(
      (readGainQuery({ key: 'k', points: '721' }) as { problem: string }).problem,
      /points: expected an integer from 1 to 720/,
    )
    assert.equal(readEventId(' 42 '), 42)
    assert.equal(readEventId('4x'), undefined)
  })
})

describe('server-sent events', () => {
  test('what the scheduler writes, the console reads back, however the bytes are cut', () => {
    const text =
      'retry: 2000\n\n' +
      sseFrame({ event: 'timeline', id: 3, data: { message: 'line one\nline two', n: 1 } }) +
      ': keepalive\n\n' +
      sseFrame({ event: 'topology', data: { nodes: [] } })
    for (const size of [1, 2, 7, text.length]) {
      const parser = new SseParser()
      const got = []
      for (let i = 0; i < text.length; i += size) got.push(...parser.push(text.slice(i, i + size)))
      assert.deepEqual(
        got.map((m) => [m.event, m.id, JSON.parse(m.data)]),
        [
          ['timeline', '3', { message: 'line one\nline two', n: 1 }],
          ['topology', undefined, { nodes: [] }],
        ],
        `chunks of ${size}`,
      )
      assert.equal(parser.retryMs, 2000)
    }
  })

  test('CRLF and CR line ends, several data lines, and messages without data', () => {
    const parser = new SseParser()
    const got = parser.push('event: x\r\ndata: a\r\ndata: b\r\n\r\nevent: empty\r\r')
    assert.deepEqual(got, [{ event: 'x', data: 'a\nb' }])
    assert.deepEqual(parser.push('data:c\n'), [])
    assert.deepEqual(parser.push('\n'), [{ event: 'message', data: 'c' }])
  })
})
