import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { linkNews, newsCheckIntervalMs, starting } from '../../src/scheduler-client/link-news.ts'
import type { LinkReportInfo } from '../../src/scheduler-client/types.ts'

const link = (peer: string, extra: Partial<LinkReportInfo> = {}): LinkReportInfo => ({
  peer,
  up: true,
  rttMs: 20,
  jitterMs: 1,
  loss: 0,
  activeFlows: 0,
  ...extra,
})

describe('linkNews: what a node reports before its next report is due', () => {
  test('the same links, or changes no path cares about, are no news', () => {
    const sent = [link('b'), link('c', { rttMs: 80 })]
    assert.equal(linkNews(sent, sent), false)
    assert.equal(linkNews(sent, [link('c', { rttMs: 80 }), link('b')]), false, 'order does not matter')
    assert.equal(linkNews(sent, [link('b', { rttMs: 21.5 }), link('c', { rttMs: 87 })]), false)
    assert.equal(
      linkNews(sent, [link('b', { jitterMs: 9, activeFlows: 40 }), sent[1] as LinkReportInfo]),
      false,
    )
    assert.equal(linkNews(sent, [link('b', { loss: 0.04 }), sent[1] as LinkReportInfo]), false)
  })

  test('a link that went up or down is news', () => {
    assert.equal(linkNews([link('b')], [link('b', { up: false })]), true)
    assert.equal(linkNews([link('b', { up: false })], [link('b')]), true)
  })

  test('an RTT that moved by 10 % and at least 1 ms is news', () => {
    assert.equal(linkNews([link('b', { rttMs: 20 })], [link('b', { rttMs: 22 })]), true)
    assert.equal(linkNews([link('b', { rttMs: 20 })], [link('b', { rttMs: 18 })]), true)
    assert.equal(linkNews([link('b', { rttMs: 5 })], [link('b', { rttMs: 5.9 })]), false, 'under 1 ms')
    assert.equal(linkNews([link('b', { rttMs: 160 })], [link('b', { rttMs: 10 })]), true)
  })

  test('a first RTT, or loss moved by one probe in twenty, is news', () => {
    const unmeasured: LinkReportInfo = { peer: 'b', up: false, activeFlows: 0 }
    assert.equal(linkNews([unmeasured], [link('b', { up: false })]), true)
    assert.equal(linkNews([link('b', { loss: 0 })], [link('b', { loss: 0.05 })]), true)
    assert.equal(linkNews([link('b')], [{ ...link('b'), loss: undefined }]), false, 'no loss known: none')
  })

  test('a peer added or gone is news', () => {
    assert.equal(linkNews([link('b')], [link('b'), link('c')]), true)
    assert.equal(linkNews([link('b'), link('c')], [link('b')]), true)
    assert.equal(linkNews([link('b')], [link('c')]), true)
    assert.equal(linkNews([], []), false)
  })
})

describe('newsCheckIntervalMs', () => {
  test('four times per report interval, every 50 to 250 ms', () => {
    assert.equal(newsCheckIntervalMs(1000), 250)
    assert.equal(newsCheckIntervalMs(2000), 250)
    assert.equal(newsCheckIntervalMs(400), 100)
    assert.equal(newsCheckIntervalMs(100), 50)
  })
})

describe('starting: a link no probe has answered yet', () => {
  test('down with no RTT is starting; up, or down after an RTT was measured, is not', () => {
    assert.equal(starting({ peer: 'b', up: false, activeFlows: 0 }), true)
    assert.equal(starting(link('b', { up: false })), false)
    assert.equal(starting(link('b')), false)
  })
})
