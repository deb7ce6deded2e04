// The tenant's batteries: their connections (GET /bms), each one's latest
// reading and link status, kept current by the live updates; and the
// changes an operator makes (register, edit, remove).

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, ApiError, enc } from '@/api/client'
import type {
  BatteryUpdate, BMSConnection, BMSConnectionRequest, BMSRealtimeData, LinkStatus,
} from '@/api/types'

/** Requests at once when loading every battery's reading and status. */
export const FETCH_CONCURRENCY = 6
/** A battery whose readings stop this long (or three of its usual
 * intervals, if longer) is stale. */
export const STALE_MIN_MS = 30_000

export async function eachLimited<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0
  const run = async () => {
    while (next < items.length) {
      const t = items[next++]
      await fn(t)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run))
}

export const useBatteries = defineStore('batteries', () => {
  const list = ref<BMSConnection[]>([])
  const latest = ref<Record<string, BMSRealtimeData>>({})
  const status = ref<Record<string, LinkStatus>>({})
  /** ms between a battery's last two readings, as they came */
  const interval = ref<Record<string, number>>({})
  const loaded = ref(false)
  const loading = ref(false)
  const error = ref<string>('')

  const byId = computed(() => {
    const m: Record<string, BMSConnection> = {}
    for (const b of list.value) m[b.bms_id] = b
    return m
  })

  function staleAfter(bmsId: string): number {
    return Math.max(STALE_MIN_MS, 3 * (interval.value[bmsId] ?? 0))
  }

  function readingTime(bmsId: string): number | null {
    const r = latest.value[bmsId]
    if (r) return Date.parse(r.timestamp)
    const b = byId.value[bmsId]
    return b?.last_data_received ? Date.parse(b.last_data_received) : null
  }

  async function fetchList(): Promise<void> {
    list.value = await api.get<BMSConnection[]>('/bms')
  }

  async function fetchLatest(bmsId: string): Promise<void> {
    try {
      applyReading(await api.get<BMSRealtimeData>(`/bms/data/${enc(bmsId)}`))
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e
    }
  }

  async function fetchStatus(bmsId: string): Promise<void> {
    try {
      applyStatus(await api.get<LinkStatus>(`/bms/${enc(bmsId)}/status`))
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e
    }
  }

  /** Everything, again: the list, then each battery's reading and status. */
  async function fetchAll(): Promise<void> {
    loading.value = true
    error.value = ''
    try {
      await fetchList()
      await eachLimited(list.value, FETCH_CONCURRENCY, async (b) => {
        await Promise.all([fetchLatest(b.bms_id), fetchStatus(b.bms_id)])
      })
      loaded.value = true
    } catch (e) {
      error.value = (e as Error).message
    } finally {
      loading.value = false
    }
  }

  let listTimer: ReturnType<typeof setTimeout> | null = null
  /** A record of a battery not in the list: ingest registered a new one. */
  function listLater() {
    if (listTimer !== null) return
    listTimer = setTimeout(() => {
      listTimer = null
      fetchList().catch(() => {})
    }, 1000)
  }

  function applyReading(r: BMSRealtimeData): void {
    const prev = latest.value[r.bms_id]
    const t = Date.parse(r.timestamp)
    if (prev) {
      const p = Date.parse(prev.timestamp)
      if (t < p) return // an older reading than the one held
      if (t > p) interval.value[r.bms_id] = t - p
    }
    latest.value[r.bms_id] = r
    const b = byId.value[r.bms_id]
    if (b) b.last_data_received = r.timestamp
    else if (loaded.value) listLater()
  }

  function applyStatus(s: LinkStatus): void {
    const prev = status.value[s.bms_id]
    if (prev && Date.parse(s.timestamp) < Date.parse(prev.timestamp)) return
    status.value[s.bms_id] = s
    const b = byId.value[s.bms_id]
    if (b) {
      b.status = s.state
      b.connection_quality = s.quality
    } else if (loaded.value) listLater()
  }

  async function register(req: BMSConnectionRequest): Promise<BMSConnection> {
    const c = await api.post<BMSConnection>('/bms/connect', req)
    const i = list.value.findIndex((b) => b.bms_id === c.bms_id)
    if (i >= 0) list.value[i] = c
    else list.value = [...list.value, c].sort((a, b) => (a.bms_id < b.bms_id ? -1 : a.bms_id > b.bms_id ? 1 : 0))
    return c
  }

  async function update(bmsId: string, u: BatteryUpdate): Promise<BMSConnection> {
    const c = await api.patch<BMSConnection>(`/bms/${enc(bmsId)}`, u)
    const i = list.value.findIndex((b) => b.bms_id === bmsId)
    if (i >= 0) list.value[i] = c
    return c
  }

  async function remove(bmsId: string, purge = false): Promise<void> {
    await api.del(`/bms/${enc(bmsId)}`, { query: purge ? { purge: true } : undefined })
    list.value = list.value.filter((b) => b.bms_id !== bmsId)
    delete latest.value[bmsId]
    delete status.value[bmsId]
    delete interval.value[bmsId]
  }

  function reset(): void {
    list.value = []
    latest.value = {}
    status.value = {}
    interval.value = {}
    loaded.value = false
    error.value = ''
  }

  return {
    list, latest, status, interval, loaded, loading, error, byId,
    staleAfter, readingTime, fetchList, fetchLatest, fetchStatus, fetchAll,
    applyReading, applyStatus, register, update, remove, reset,
  }
})
