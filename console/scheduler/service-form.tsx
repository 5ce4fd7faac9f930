/** Put or delete a service; the API's validation problems are shown under the field they name. */
import { useState } from 'preact/hooks'
import { ApiError, change, getJson } from '../shared/api.ts'
import {
  EMPTY_FORM,
  formFromService,
  problemsByField,
  type ServiceForm,
  serviceFromForm,
} from './service-form-model.ts'

type Field = keyof ServiceForm

function Problems(p: { readonly list: readonly string[] | undefined }) {
  if (!p.list || p.list.length === 0) return null
  return (
    <ul class="problems">
      {p.list.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  )
}

export function ServiceEditor(p: {
  readonly services: readonly string[]
  readonly onDone: (message: string) => void
}) {
  const [form, setForm] = useState<ServiceForm>(EMPTY_FORM)
  const [problems, setProblems] = useState<Map<Field | 'form', string[]>>(new Map())
  const [busy, setBusy] = useState(false)
  const set = (field: Field) => (e: Event) =>
    setForm({ ...form, [field]: (e.target as HTMLInputElement).value })
  const load = async (name: string) => {
    setProblems(new Map())
    if (name === '') return setForm(EMPTY_FORM)
    try {
      setForm(formFromService(await getJson(`/services/${encodeURIComponent(name)}`)))
    } catch (err) {
      setProblems(new Map([['form', [err instanceof Error ? err.message : String(err)]]]))
    }
  }
  const act = async (method: 'PUT' | 'DELETE') => {
    const name = form.name.trim()
    if (name === '') return setProblems(new Map([['name', ['name: give the service a name']]]))
    setBusy(true)
    try {
      await change(
        method,
        `/services/${encodeURIComponent(name)}`,
        method === 'PUT' ? serviceFromForm(form) : undefined,
      )
      setProblems(new Map())
      p.onDone(method === 'PUT' ? `service ${name} stored` : `service ${name} deleted`)
    } catch (err) {
      const list =
        err instanceof ApiError && err.problems.length > 0
          ? [...err.problems]
          : [err instanceof Error ? err.message : String(err)]
      setProblems(
        err instanceof ApiError && err.problems.length > 0
          ? problemsByField(list)
          : new Map([['form', list]]),
      )
    } finally {
      setBusy(false)
    }
  }
  const field = (name: Field, label: string, hint: string, multiline = false) => (
    <div class={`field${problems.has(name) ? ' invalid' : ''}`} data-field={name}>
      <label for={`service-${name}`}>{label}</label>
      {multiline ? (
        <textarea id={`service-${name}`} rows={2} value={form[name]} onInput={set(name)} placeholder={hint} />
      ) : (
        <input id={`service-${name}`} value={form[name]} onInput={set(name)} placeholder={hint} />
      )}
      <Problems list={problems.get(name)} />
    </div>
  )
  return (
    <form
      class="service-form"
      id="service-form"
      onSubmit={(e) => {
        e.preventDefault()
        void act('PUT')
      }}
    >
      <label class="field">
        <span>edit</span>
        <select onChange={(e) => void load((e.target as HTMLSelectElement).value)}>
          <option value="">a new service</option>
          {p.services.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      {field('name', 'name', 'web')}
      {field('ingress', 'ingress', 'one per line: node listener, or node :port', true)}
      {field('egress', 'egress', 'c, d')}
      {field('targets', 'targets', 'one per line: host:port [weight]', true)}
      <label class={`field${problems.has('objective') ? ' invalid' : ''}`} data-field="objective">
        <span>objective</span>
        <select value={form.objective} onChange={set('objective')}>
          <option value="latency">latency</option>
          <option value="throughput">throughput</option>
          <option value="cost">cost</option>
        </select>
        <Problems list={problems.get('objective')} />
      </label>
      {field('alternatives', 'alternatives', '2')}
      {field('avoidRegions', 'avoid regions', 'eu-west')}
      {field('requireRegions', 'require regions (relays)', '')}
      {field('maxHops', 'max hops', '')}
      <label class={`field${problems.has('multipath') ? ' invalid' : ''}`} data-field="multipath">
        <span>multipath</span>
        <select value={form.multipath} onChange={set('multipath')}>
          <option value="">no (one path per flow)</option>
          <option value="stripe">stripe</option>
          <option value="redundant">redundant</option>
          <option value="failover">failover</option>
        </select>
        <Problems list={problems.get('multipath')} />
      </label>
      {form.multipath !== '' && field('multipathPaths', 'multipath paths', '2')}
      <Problems list={problems.get('form')} />
      <div class="buttons">
        <button type="submit" disabled={busy}>
          put service
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy || !p.services.includes(form.name.trim())}
          onClick={() => void act('DELETE')}
        >
          delete service
        </button>
      </div>
    </form>
  )
}
