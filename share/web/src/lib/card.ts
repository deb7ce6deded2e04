// What a battery's card on the fleet page says, worked out in one place.

import type { BMSConnection, BMSRealtimeData, LinkStatus } from '@/api/types'
import {
  cellExtremes, conditionDetail, conditionOf, conditionWords, flowOf, flowWords, fmtAmps, fmtMv,
  fmtPercent, fmtPower, fmtTemp, fmtVolts, formatAge, powerOf, warmest, type Condition, type Flow,
} from './format'

export interface CardModel {
  bmsId: string
  title: string
  subtitle: string
  soc: number | null
  socText: string
  voltageText: string
  currentText: string
  powerText: string
  flow: Flow
  flowText: string
  spreadMv: number | null
  spreadText: string
  warmestText: string
  warmestValue: number | null
  condition: Condition
  conditionText: string
  conditionDetail: string
  ageMs: number | null
  ageText: string
  stale: boolean
  openAlerts: number
  quality: string | null
  faults: number
}

export function cardModel(
  conn: BMSConnection | undefined,
  bmsId: string,
  r: BMSRealtimeData | undefined,
  status: LinkStatus | undefined,
  now: number,
  staleAfterMs: number,
  openAlerts: number,
): CardModel {
  const t = r ? Date.parse(r.timestamp) : conn?.last_data_received ? Date.parse(conn.last_data_received) : NaN
  const ageMs = Number.isFinite(t) ? Math.max(0, now - t) : null
  const stale = ageMs === null || ageMs > staleAfterMs
  // The connection's own state is a default the API gives a battery no
  // status record came for: without a reading either, nothing is known.
  const state = status?.state ?? (ageMs !== null ? conn?.status : undefined)
  const condition = conditionOf(state, status?.reason, ageMs, staleAfterMs)
  const ext = cellExtremes(r?.cell_voltages)
  const w = warmest(r?.temperatures)
  const flow = flowOf(r?.pack_current)
  const name = conn?.name?.trim()
  return {
    bmsId,
    title: name || bmsId,
    subtitle: name ? bmsId : conn?.bms_type ?? '',
    soc: r?.soc_percent ?? null,
    socText: fmtPercent(r?.soc_percent),
    voltageText: fmtVolts(r?.pack_voltage),
    currentText: fmtAmps(r?.pack_current),
    powerText: fmtPower(powerOf(r)),
    flow,
    flowText: flowWords[flow],
    spreadMv: ext ? ext.spreadMv : null,
    spreadText: ext ? fmtMv(ext.spreadMv) : '—',
    warmestText: w ? `${fmtTemp(w.value)} (probe ${w.probe})` : '—',
    warmestValue: w ? w.value : null,
    condition,
    conditionText: conditionWords[condition],
    conditionDetail: conditionDetail(status, condition, ageMs === null ? '' : formatAge(ageMs)),
    ageMs,
    ageText: ageMs === null ? 'no reading yet' : ageMs < 2000 ? 'just now' : `${formatAge(ageMs)} ago`,
    stale,
    openAlerts,
    quality: r?.quality ?? null,
    faults: (r?.fault_codes?.length ?? 0),
  }
}

export type SortKey = 'name' | 'soc' | 'spread' | 'temp' | 'alerts' | 'age' | 'status'

export const sortWords: Record<SortKey, string> = {
  name: 'Name',
  status: 'Problems first',
  soc: 'Lowest charge',
  spread: 'Widest cell spread',
  temp: 'Warmest',
  alerts: 'Most open alerts',
  age: 'Oldest reading',
}

const conditionRank: Record<Condition, number> = { error: 0, lost: 1, asleep: 2, unknown: 3, testing: 4, connected: 5 }

/** Sorted copy; missing figures go last, ties by name. */
export function sortCards(cards: readonly CardModel[], key: SortKey): CardModel[] {
  const byName = (a: CardModel, b: CardModel) => a.title.localeCompare(b.title) || (a.bmsId < b.bmsId ? -1 : a.bmsId > b.bmsId ? 1 : 0)
  const num = (f: (c: CardModel) => number | null, dir: 1 | -1) => (a: CardModel, b: CardModel) => {
    const x = f(a)
    const y = f(b)
    if (x === null && y === null) return byName(a, b)
    if (x === null) return 1
    if (y === null) return -1
    return (x - y) * dir || byName(a, b)
  }
  const cmp: Record<SortKey, (a: CardModel, b: CardModel) => number> = {
    name: byName,
    soc: num((c) => c.soc, 1),
    spread: num((c) => c.spreadMv, -1),
    temp: num((c) => c.warmestValue, -1),
    alerts: num((c) => c.openAlerts, -1),
    age: num((c) => c.ageMs, -1),
    status: (a, b) => conditionRank[a.condition] - conditionRank[b.condition] || b.openAlerts - a.openAlerts || byName(a, b),
  }
  return [...cards].sort(cmp[key])
}

export interface CardFilter {
  text: string
  condition: Condition | ''
  flow: Flow | ''
  alertsOnly: boolean
}

export function filterCards(cards: readonly CardModel[], f: CardFilter): CardModel[] {
  const q = f.text.trim().toLowerCase()
  return cards.filter((c) =>
    (q === '' || c.bmsId.toLowerCase().includes(q) || c.title.toLowerCase().includes(q) || c.subtitle.toLowerCase().includes(q)) &&
    (f.condition === '' || c.condition === f.condition) &&
    (f.flow === '' || c.flow === f.flow) &&
    (!f.alertsOnly || c.openAlerts > 0))
}
