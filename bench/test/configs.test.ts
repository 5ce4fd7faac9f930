import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfigText } from '../../src/config/index.ts'
import { nginxConfig } from '../backends/nginx.ts'
import { dynproxyConfig } from '../candidates/dynproxy.ts'
import { haproxyConfig } from '../candidates/haproxy.ts'

describe('generated configs', () => {
  it('HAProxy: mode tcp on loopback, maxconn sized to two fds per connection', () => {
    const cfg = haproxyConfig(8080, 9090, 20_000)
    assert.match(cfg, /mode tcp/)
    assert.match(cfg, /bind 127\.0\.0\.1:8080\n/)
    assert.match(cfg, /server target 127\.0\.0\.1:9090\n/)
    assert.equal(cfg.match(/maxconn 9968\n/g)?.length, 2)
    assert.doesNotMatch(cfg, /nbthread/)
  })

  it('dynproxy: the one-listener, one-route YAML the CLI accepts', () => {
    assert.equal(
      dynproxyConfig(8080, 9090),
      'common: { node_id: bench, admin_addr: "127.0.0.1:0", access_log: false, log_level: warn, workers: 1 }\n' +
        'listeners: [{ name: bench, bind: "127.0.0.1:8080" }]\n' +
        'routes: [{ name: bench, match: { listener: bench }, target: "127.0.0.1:9090" }]\n',
    )
  })

  it('dynproxy-workers: the same with a worker process per core, as the node loads it', () => {
    const config = loadConfigText(dynproxyConfig(8080, 9090, 'auto'))
    assert.equal(config.common.workers, 'auto')
    assert.equal(config.listeners[0]?.bind.port, 8080)
  })

  it('nginx: one foreground process, every path under the prefix, user only as root', () => {
    const cfg = nginxConfig('/tmp/p', 9090, 20_000, false)
    assert.match(cfg, /daemon off;\nmaster_process off;/)
    assert.match(cfg, /listen 127\.0\.0\.1:9090 backlog=4096; root \/tmp\/p\/www;/)
    assert.match(cfg, /client_body_temp_path \/tmp\/p\/temp\/client_body;/)
    assert.match(cfg, /keepalive_requests 1000000000;/)
    assert.doesNotMatch(cfg, /^user /m)
    assert.match(nginxConfig('/tmp/p', 9090, 20_000, true), /^user root root;$/m)
  })
})
