// Figures as people read them: flow direction, cell spread, the warmest
// probe, ages and units.  Pure functions, so the cards and the detail
// page say the same thing and the tests can hold them to exact text.

import type { BMSRealtimeData, LinkStatus, LinkState } from '@/api/types'

/** Below this many amperes either way a pack counts as idle: Daly boards
 * report current in steps of 0.1 A and jitter by one step at rest. */
export const IDLE_AMPS = 0.1

export type Flow = 'charging' | 'discharging' | 'idle' | 'unknown'

export function flowOf(current: number | undefined | null): Flow {
  if (current === undefined || current === null || !Number.isFinite(current)) return 'unknown'
  if (Math.abs(current) <= IDLE_AMPS) return 'idle'
  return current > 0 ? 'charging' : 'discharging'
}

export const flowWords: Record<Flow, string> = {
  charging: 'Charging',
  discharging: 'Discharging',
  idle: 'Idle',
  unknown: 'Flow unknown',
}

export interface CellExtremes {
  min: number
  max: number
  /** 0-based indices of the first lowest and first highest cell */
  minIndex: number
  maxIndex: number
  /** max - min in whole millivolts */
  spreadMv: number
}

/** The lowest and highest cell and the spread between them; null without
 * cells.  Millivolts are rounded from volts (3.339 - 3.320 is 19 mV, not
 * 18.999…). */
export function cellExtremes(cells: readonly number[] | undefined | null): CellExtremes | null {
  if (!cells || cells.length === 0) return null
  let minIndex = 0
  let maxIndex = 0
  for (let i = 1; i < cells.length; i++) {
    if (cells[i] < cells[minIndex]) minIndex = i
    if (cells[i] > cells[maxIndex]) maxIndex = i
  }
  const min = cells[minIndex]
  const max = cells[maxIndex]
  return { min, max, minIndex, maxIndex, spreadMv: Math.round((max - min) * 1000) }
}

export function spreadMv(cells: readonly number[] | undefined | null): number | null {
  return cellExtremes(cells)?.spreadMv ?? null
}

/** The warmest probe, 1-based, or null without temperatures. */
export function warmest(temps: readonly number[] | undefined | null): { probe: number; value: number } | null {
  if (!temps || temps.length === 0) return null
  let k = 0
  for (let i = 1; i < temps.length; i++) if (temps[i] > temps[k]) k = i
  return { probe: k + 1, value: temps[k] }
}

/** An age in words, short enough for a card: "just now", "42 s",
 * "3 min 05 s", "2 h 07 min", "3 d 4 h". */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return '—'
  if (ms < 0) ms = 0
  const s = Math.floor(ms / 1000)
  if (s < 2) return 'just now'
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h} h ${String(m % 60).padStart(2, '0')} min`
  const d = Math.floor(h / 24)
  return `${d} d ${h % 24} h`
}

/** "2 minutes 5 seconds" for a Retry-After of 125. */
export function durationWords(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds))
  const parts: string[] = []
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const r = s % 60
  const unit = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`
  if (h) parts.push(unit(h, 'hour'))
  if (m) parts.push(unit(m, 'minute'))
  if (r || parts.length === 0) parts.push(unit(r, 'second'))
  return parts.join(' ')
}

function fixed(v: number, digits: number): string {
  // -0.0 reads as 0.0
  const t = v.toFixed(digits)
  return /^-0(\.0+)?$/.test(t) ? t.slice(1) : t
}

export function fmtVolts(v: number | undefined | null, digits = 2): string {
  return v === undefined || v === null ? '—' : `${fixed(v, digits)} V`
}

export function fmtAmps(a: number | undefined | null): string {
  return a === undefined || a === null ? '—' : `${fixed(a, 1)} A`
}

/** Watts up to 999, kilowatts above (two decimals). */
export function fmtPower(w: number | undefined | null): string {
  if (w === undefined || w === null) return '—'
  if (Math.abs(w) >= 1000) return `${fixed(w / 1000, 2)} kW`
  return `${fixed(w, 0)} W`
}

export function fmtPercent(p: number | undefined | null, digits = 1): string {
  return p === undefined || p === null ? '—' : `${fixed(p, digits)} %`
}

export function fmtTemp(t: number | undefined | null): string {
  return t === undefined || t === null ? '—' : `${fixed(t, 1)} °C`
}

export function fmtMv(mv: number | undefined | null): string {
  return mv === undefined || mv === null ? '—' : `${Math.round(mv)} mV`
}

export function fmtEnergy(wh: number | undefined | null): string {
  if (wh === undefined || wh === null) return '—'
  if (Math.abs(wh) >= 1_000_000) return `${fixed(wh / 1_000_000, 2)} MWh`
  if (Math.abs(wh) >= 1000) return `${fixed(wh / 1000, 2)} kWh`
  return `${fixed(wh, 0)} Wh`
}

/** Power from the reading, or voltage × current when the BMS gives none. */
export function powerOf(r: BMSRealtimeData | undefined | null): number | undefined {
  if (!r) return undefined
  if (r.pack_power !== undefined) return r.pack_power
  if (r.pack_voltage !== undefined && r.pack_current !== undefined) return r.pack_voltage * r.pack_current
  return undefined
}

export function fmtTime(iso: string | undefined | null): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  })
}

/* ==== The link's condition ==== */

export type Condition = 'connected' | 'asleep' | 'lost' | 'error' | 'testing' | 'unknown'

export const conditionWords: Record<Condition, string> = {
  connected: 'Connected',
  asleep: 'Asleep',
  lost: 'Lost',
  error: 'Link error',
  testing: 'Testing',
  unknown: 'No status yet',
}

/** What the link is doing, from bms-read's latest status record (or the
 * connection's state when no record came): asleep when only echoes come
 * back, lost when nothing answers or the device is gone, error when what
 * comes back is garbled or incomplete.  A link still said to be connected
 * whose readings stopped longer ago than silentMs is lost too: the
 * reader itself may have stopped. */
export function conditionOf(
  state: LinkState | undefined,
  reason: string | undefined,
  readingAgeMs: number | null,
  silentMs: number,
): Condition {
  if (!state) return 'unknown'
  if (state === 'testing') return 'testing'
  if (state === 'connected') {
    if (readingAgeMs !== null && readingAgeMs > silentMs) return 'lost'
    return 'connected'
  }
  if (reason === 'asleep') return 'asleep'
  if (state === 'disconnected' || reason === 'no_reply' || reason === 'device_gone' || reason === 'open_failed')
    return 'lost'
  return 'error'
}

export function conditionDetail(status: LinkStatus | undefined, c: Condition, silentFor: string): string {
  if (c === 'lost' && status?.state === 'connected') return `No reading for ${silentFor}`
  return status?.message ?? conditionWords[c]
}
