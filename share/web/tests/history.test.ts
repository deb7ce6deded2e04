import { describe, expect, it } from 'vitest'
import { HistoryBuffer, readingValues } from '@/lib/history'
import type { History } from '@/api/types'

const T0 = Date.parse('2026-12-07T10:00:00.000Z')
const iso = (ms: number) => new Date(ms).toISOString()
const reading = (ms: number, v: number) => ({
  type: 'reading', bms_id: 'house', timestamp: iso(ms), pack_voltage: v, pack_current: -2, soc_percent: 50,
  temperatures: [20, 25], cell_voltages: [3.3, 3.31, 3.29],
})
const stats = (mean: number) => ({ min: mean - 1, max: mean + 1, mean, last: mean })

describe('history buffer', () => {
  it('reads raw readings as points, with power from voltage and current', () => {
    expect(readingValues(reading(T0, 50))).toEqual({
      voltage: 50, current: -2, power: -100, soc: 50, tempHigh: 25, tempLow: 20, cellMin: 3.29, cellMax: 3.31,
    })
  })

  it('reads aggregates as a mean with its band', () => {
    const b = new HistoryBuffer()
    const h: History = {
      bms_id: 'house', tier: 'minute', truncated: false,
      points: [0, 1].map((i) => ({ type: 'aggregate', timestamp: iso(T0 + i * 60_000), period: '1m', n: 60, pack_voltage: stats(53 + i) })),
    }
    b.load(h)
    expect(b.t).toEqual([T0, T0 + 60_000])
    expect(b.cols.voltage).toEqual({ mean: [53, 54], min: [52, 53], max: [54, 55] })
    expect(b.cols.soc.mean).toEqual([null, null])
    expect(b.step).toBe(60_000)
  })

  it('breaks the line across a gap of more than three steps', () => {
    const b = new HistoryBuffer()
    b.load({ bms_id: 'house', tier: 'raw', truncated: false, points: [reading(T0, 1), reading(T0 + 5000, 2), reading(T0 + 10_000, 3), reading(T0 + 60_000, 4)] })
    expect(b.step).toBe(5000)
    expect(b.t).toEqual([T0, T0 + 5000, T0 + 10_000, T0 + 35_000, T0 + 60_000])
    expect(b.cols.voltage.mean).toEqual([1, 2, 3, null, 4])
  })

  it('takes live readings in order only, and stays within its cap and range', () => {
    const b = new HistoryBuffer(3)
    b.load({ bms_id: 'house', tier: 'raw', truncated: false, points: [reading(T0, 1), reading(T0 + 1000, 2)] })
    expect(b.push(reading(T0 + 1000, 9) as never)).toBe(false)
    expect(b.push(reading(T0 + 2000, 3) as never)).toBe(true)
    expect(b.push(reading(T0 + 3000, 4) as never)).toBe(true)
    expect(b.cols.voltage.mean).toEqual([2, 3, 4])
    b.trim(T0 + 2500)
    expect(b.t).toEqual([T0 + 3000])
    expect(b.cols.voltage.min).toEqual([4])
  })

  it('holds no more than its cap after hours of live readings', () => {
    const b = new HistoryBuffer(100)
    b.load({ bms_id: 'house', tier: 'raw', truncated: false, points: [] })
    for (let i = 0; i < 36_000; i++) b.push(reading(T0 + i * 1000, i) as never)
    expect(b.length).toBe(100)
    expect(b.cols.voltage.mean[99]).toBe(35_999)
  })
})
