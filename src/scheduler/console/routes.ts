/**
 * The scheduler API's console endpoints: the console page itself, the event stream, the
 * timeline, the topology, why each service takes its path, what routing buys over time, and
 * undraining a node. Reads and the stream are reads, undrain a change, under the API's access
 * policy like every other endpoint (admin/access.ts). Everything the console shows comes from these and the rest of the REST API,
 * so a script can read it too.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { registerConsolePages } from '../../admin/console-pages.ts'
import { SchedulerApiBadRequestError } from '../../errors/scheduler.ts'
import type { Logger } from '../../log/logger.ts'
import type { SchedulerCore } from '../core.ts'
import type { BodyRead } from '../directive-body.ts'
import type { Timers } from '../throttle.ts'
import { eventJson } from './events.ts'
import type { ConsoleMonitor } from './monitor.ts'
import { readEventsQuery, readGainQuery, readTimelineQuery, readWhyQuery } from './query.ts'
import { pipeEventStream, readEventId } from './stream.ts'
import { whyJson } from './why.ts'

export interface ConsoleRouteDeps {
  readonly monitor: ConsoleMonitor
  readonly core: SchedulerCore
  readonly logger: Logger
  readonly timers: Timers
  readonly now: () => number
}

function pathOf(request: FastifyRequest): string {
  const q = request.url.indexOf('?')
  return q === -1 ? request.url : request.url.slice(0, q)
}

function checked<T>(request: FastifyRequest, read: BodyRead<T>): T {
  if ('problem' in read) throw new SchedulerApiBadRequestError(request.method, pathOf(request), read.problem)
  return read.value
}

type Query = Record<string, unknown>

export function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): void {
  const { monitor, core, logger } = deps
  // The pages hold no data: they fetch it with the token the operator gives them.
  registerConsolePages(app, { name: 'scheduler', routeConfig: { access: 'public' } })
  app.get('/', { config: { access: 'public' } }, (_request, reply) => reply.redirect('/ui'))

  app.get('/events', (request, reply) => {
    const query = checked(request, readEventsQuery(request.query as Query))
    const header = request.headers['last-event-id']
    const afterId = readEventId(Array.isArray(header) ? header[0] : header) ?? query.afterId
    reply.hijack()
    pipeEventStream(reply.raw, monitor, {
      timers: deps.timers,
      replay: query.replay,
      ...(afterId !== undefined && { afterId }),
    })
  })
  app.get('/timeline', async (request) => {
    const filter = checked(request, readTimelineQuery(request.query as Query, deps.now()))
    return { lastId: monitor.log.lastId, events: monitor.log.list(filter).map(eventJson) }
  })
  app.get('/topology', async () => monitor.topology())
  app.get('/why', async (request) => {
    const { service } = checked(request, readWhyQuery(request.query as Query))
    return monitor
      .why()
      .filter((v) => service === undefined || v.service === service)
      .map(whyJson)
  })
  app.get('/gain', async (request) => {
    const { key, points } = checked(request, readGainQuery(request.query as Query))
    const samples = monitor.gainSeries(key, points)
    if (samples === undefined) {
      const known = monitor.gainKeys()
      const hint = known.length === 0 ? 'none yet' : known.map((k) => JSON.stringify(k)).join(', ')
      throw new SchedulerApiBadRequestError(
        request.method,
        pathOf(request),
        `key: no selection ${JSON.stringify(key)} (known: ${hint})`,
      )
    }
    return {
      key,
      samples: samples.map((s) => ({ at: new Date(s.t).toISOString(), chosen: s.v[0], direct: s.v[1] })),
    }
  })
  app.post<{ Params: { id: string } }>('/nodes/:id/undrain', async (request, reply) => {
    core.undrain(request.params.id)
    logger.info({ node: request.params.id }, 'asked a node to accept flows again')
    return reply.code(202).send({ node: request.params.id })
  })
}
