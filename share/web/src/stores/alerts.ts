// Alert records (GET /alerts) and what they add up to: each raise of an
// alert and its escalations, repeats and clear make one episode, open
// until its clear.  Live alert records (raises, and again when
// acknowledged) are merged in by their row id.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, ApiError, enc } from '@/api/client'
import type { Alert, AlertAck, Severity } from '@/api/types'

export interface AlertQuery {
  bms_id?: string
  severity?: Severity | ''
  open?: boolean
  since?: string
  until?: string
  limit?: number
}

export interface Episode {
  key: string
  alert_id: string
  bms_id: string
  rule: string
  since: string
  /** the latest record of the episode */
  last: Alert
  records: Alert[]
  open: boolean
  severity: Severity
  acked: { by: string; at: string } | null
}

const sevRank: Record<string, number> = { info: 1, warning: 2, critical: 3 }

/** Records of one alert in the order they were written. */
export function byTime(a: Alert, b: Alert): number {
  const d = Date.parse(a.timestamp) - Date.parse(b.timestamp)
  return d !== 0 ? d : a.id - b.id
}

/** The state a record stands for (a notify_failed copy: its event's). */
export function stateOf(a: Alert): string {
  return a.state === 'notify_failed' ? a.event ?? 'raised' : a.state
}

/** Group records into episodes (alert_id and since), newest first. */
export function episodesOf(records: Iterable<Alert>): Episode[] {
  const m = new Map<string, Alert[]>()
  for (const a of records) {
    const k = `${a.alert_id}\u0000${a.since}`
    const l = m.get(k)
    if (l) l.push(a)
    else m.set(k, [a])
  }
  const out: Episode[] = []
  for (const [key, recs] of m) {
    recs.sort(byTime)
    const last = recs[recs.length - 1]
    let severity: Severity = 'info'
    let acked: Episode['acked'] = null
    for (const r of recs) {
      if ((sevRank[r.severity] ?? 0) > (sevRank[severity] ?? 0)) severity = r.severity
      if (r.ack_by && r.ack_at && (!acked || r.ack_at < acked.at)) acked = { by: r.ack_by, at: r.ack_at }
    }
    if (!acked && recs.some((r) => r.acknowledged)) acked = { by: '', at: '' }
    out.push({
      key, alert_id: last.alert_id, bms_id: last.bms_id, rule: last.rule, since: last.since,
      last, records: recs, open: stateOf(last) !== 'cleared', severity, acked,
    })
  }
  out.sort((a, b) => byTime(b.last, a.last))
  return out
}

export const useAlerts = defineStore('alerts', () => {
  const records = ref<Record<number, Alert>>({})
  const loading = ref(false)
  const error = ref('')

  const episodes = computed(() => episodesOf(Object.values(records.value)))
  const openEpisodes = computed(() => episodes.value.filter((e) => e.open))
  const openCount = computed(() => {
    const m: Record<string, number> = {}
    for (const e of openEpisodes.value) m[e.bms_id] = (m[e.bms_id] ?? 0) + 1
    return m
  })

  function merge(list: Alert[]) {
    for (const a of list) records.value[a.id] = a
  }

  async function fetch(q: AlertQuery = {}): Promise<Alert[]> {
    loading.value = true
    error.value = ''
    try {
      const list = await api.get<Alert[]>('/alerts', {
        query: {
          bms_id: q.bms_id, severity: q.severity || undefined, open: q.open,
          since: q.since, until: q.until, limit: q.limit,
        },
      })
      merge(list)
      return list
    } catch (e) {
      error.value = (e as Error).message
      throw e
    } finally {
      loading.value = false
    }
  }

  /** The open alerts of the tenant (for the fleet's counts). */
  function fetchOpen(): Promise<Alert[]> {
    return fetch({ open: true, since: '-30d' })
  }

  /** Every record of one alert (its raises, escalations, repeats, clears). */
  async function history(alertId: string, bmsId: string, since = '-365d'): Promise<Alert[]> {
    const list = await api.get<Alert[]>('/alerts', { query: { bms_id: bmsId, since, limit: 10000 } })
    merge(list)
    return list.filter((a) => a.alert_id === alertId).sort(byTime)
  }

  function applyAlert(a: Alert): void {
    records.value[a.id] = a
  }

  /** Acknowledge a record (operator and up).  Acknowledged already (409):
   * the first acknowledgement is taken as the answer. */
  async function ack(id: number, note: string): Promise<AlertAck & { already: boolean }> {
    let r: AlertAck
    let already = false
    try {
      r = await api.post<AlertAck>(`/alerts/${enc(String(id))}/ack`, note.trim() ? { note: note.trim() } : {})
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409 && e.body && typeof e.body === 'object')) throw e
      r = e.body as AlertAck
      already = true
    }
    const a = records.value[id]
    if (a) records.value[id] = { ...a, ack_by: r.ack_by, ack_at: r.ack_at }
    return { ...r, already }
  }

  function reset(): void {
    records.value = {}
    error.value = ''
  }

  return { records, loading, error, episodes, openEpisodes, openCount, fetch, fetchOpen, history, applyAlert, ack, reset }
})
