// A battery's history as the charts draw it.  GET /bms/{id}/history
// answers reading records at the raw tier and aggregate records (min,
// max, mean, last) at the minute and hour tiers; both become the same
// columns here: a mean, and a min-max band where there is one.  A gap
// in the data (more than three steps without a point) is kept as a
// break in the line rather than drawn across.  Live readings are
// appended, and the buffer is kept within its range and its cap, so a
// page left open for days holds no more than it did at first.

import type { AggregatePoint, BMSRealtimeData, History, Stats } from '@/api/types'

export const METRICS = ['voltage', 'current', 'power', 'soc', 'tempHigh', 'tempLow', 'cellMin', 'cellMax'] as const
export type Metric = (typeof METRICS)[number]

export interface Column {
  mean: (number | null)[]
  min: (number | null)[]
  max: (number | null)[]
}

export interface Range {
  key: string
  label: string
  /** ms */
  span: number
  since: string
  limit: number
  /** live readings are added to the chart */
  live: boolean
}

const H = 3_600_000
export const RANGES: Range[] = [
  { key: '1h', label: '1 h', span: H, since: '-1h', limit: 2000, live: true },
  { key: '6h', label: '6 h', span: 6 * H, since: '-6h', limit: 2000, live: true },
  { key: '24h', label: '24 h', span: 24 * H, since: '-24h', limit: 2000, live: false },
  { key: '7d', label: '7 d', span: 7 * 24 * H, since: '-7d', limit: 2000, live: false },
  { key: '30d', label: '30 d', span: 30 * 24 * H, since: '-30d', limit: 2000, live: false },
  { key: '1y', label: '1 y', span: 365 * 24 * H, since: '-365d', limit: 9000, live: false },
]

const stepOfTier: Record<string, number> = { minute: 60_000, hour: H }

function min(a: readonly number[] | undefined): number | null {
  return a && a.length ? Math.min(...a) : null
}
function max(a: readonly number[] | undefined): number | null {
  return a && a.length ? Math.max(...a) : null
}
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/** The metrics of one raw reading. */
export function readingValues(r: Partial<BMSRealtimeData>): Record<Metric, number | null> {
  const p = num(r.pack_power) ?? (num(r.pack_voltage) !== null && num(r.pack_current) !== null ? r.pack_voltage! * r.pack_current! : null)
  return {
    voltage: num(r.pack_voltage),
    current: num(r.pack_current),
    power: p,
    soc: num(r.soc_percent),
    tempHigh: max(r.temperatures),
    tempLow: min(r.temperatures),
    cellMin: min(r.cell_voltages),
    cellMax: max(r.cell_voltages),
  }
}

const aggField: Record<Metric, keyof AggregatePoint> = {
  voltage: 'pack_voltage',
  current: 'pack_current',
  power: 'pack_power',
  soc: 'soc_percent',
  tempHigh: 'temperature_max',
  tempLow: 'temperature_min',
  cellMin: 'cell_voltage_min',
  cellMax: 'cell_voltage_max',
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

export class HistoryBuffer {
  t: number[] = []
  cols: Record<Metric, Column>
  tier: History['tier'] = 'raw'
  truncated = false
  /** ms between points, as expected */
  step = 0
  cap: number

  constructor(cap = 4000) {
    this.cap = cap
    this.cols = this.emptyCols()
  }

  private emptyCols(): Record<Metric, Column> {
    const c = {} as Record<Metric, Column>
    for (const m of METRICS) c[m] = { mean: [], min: [], max: [] }
    return c
  }

  get length(): number {
    return this.t.length
  }

  /** Replace the contents with an answer of the history route. */
  load(h: History): void {
    this.t = []
    this.cols = this.emptyCols()
    this.tier = h.tier
    this.truncated = h.truncated
    const times = h.points.map((p) => Date.parse(String(p.timestamp)))
    if (h.tier === 'raw') {
      const d: number[] = []
      for (let i = 1; i < times.length; i++) d.push(times[i] - times[i - 1])
      this.step = median(d) || 1000
    } else {
      this.step = stepOfTier[h.tier] ?? 60_000
    }
    h.points.forEach((p, i) => {
      if (!Number.isFinite(times[i])) return
      if (h.tier === 'raw') {
        const v = readingValues(p as Partial<BMSRealtimeData>)
        this.add(times[i], v, v, v)
      } else {
        const a = p as unknown as AggregatePoint
        const mean = {} as Record<Metric, number | null>
        const lo = {} as Record<Metric, number | null>
        const hi = {} as Record<Metric, number | null>
        for (const m of METRICS) {
          const s = a[aggField[m]] as Stats | undefined
          mean[m] = num(s?.mean)
          lo[m] = num(s?.min)
          hi[m] = num(s?.max)
        }
        this.add(times[i], mean, lo, hi)
      }
    })
    this.trim()
  }

  private gapBefore(t: number): boolean {
    const last = this.t[this.t.length - 1]
    return last !== undefined && this.step > 0 && t - last > Math.max(3 * this.step, 10_000)
  }

  private add(t: number, mean: Record<Metric, number | null>, lo: Record<Metric, number | null>, hi: Record<Metric, number | null>) {
    if (this.gapBefore(t)) {
      // a break in the line, in the middle of the gap
      const last = this.t[this.t.length - 1]
      this.t.push(Math.round((last + t) / 2))
      for (const m of METRICS) {
        this.cols[m].mean.push(null)
        this.cols[m].min.push(null)
        this.cols[m].max.push(null)
      }
    }
    this.t.push(t)
    for (const m of METRICS) {
      this.cols[m].mean.push(mean[m])
      this.cols[m].min.push(lo[m])
      this.cols[m].max.push(hi[m])
    }
  }

  /** Add a live reading; false when it is not newer than the last point. */
  push(r: BMSRealtimeData): boolean {
    const t = Date.parse(r.timestamp)
    if (!Number.isFinite(t)) return false
    const last = this.t[this.t.length - 1]
    if (last !== undefined && t <= last) return false
    const v = readingValues(r)
    this.add(t, v, v, v)
    this.trim()
    return true
  }

  /** Drop points before since (ms) and any beyond the cap, oldest first. */
  trim(since?: number): void {
    let drop = Math.max(0, this.t.length - this.cap)
    if (since !== undefined) while (drop < this.t.length && this.t[drop] < since) drop++
    if (drop === 0) return
    this.t.splice(0, drop)
    for (const m of METRICS) {
      this.cols[m].mean.splice(0, drop)
      this.cols[m].min.splice(0, drop)
      this.cols[m].max.splice(0, drop)
    }
  }
}
