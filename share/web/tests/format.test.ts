import { describe, expect, it } from 'vitest'
import {
  cellExtremes, conditionOf, durationWords, flowOf, fmtAmps, fmtPower, fmtVolts, formatAge, spreadMv, warmest,
} from '@/lib/format'

describe('flowOf', () => {
  it('tells charging, discharging and idle apart by the sign of the current', () => {
    expect(flowOf(12.5)).toBe('charging')
    expect(flowOf(-40)).toBe('discharging')
    expect(flowOf(0)).toBe('idle')
    expect(flowOf(0.1)).toBe('idle')
    expect(flowOf(-0.1)).toBe('idle')
    expect(flowOf(0.2)).toBe('charging')
    expect(flowOf(-0.2)).toBe('discharging')
  })
  it('says unknown when the BMS gives no current', () => {
    expect(flowOf(undefined)).toBe('unknown')
    expect(flowOf(null)).toBe('unknown')
    expect(flowOf(Number.NaN)).toBe('unknown')
  })
})

describe('cell spread', () => {
  it('is the highest minus the lowest cell in whole millivolts', () => {
    const cells = [3.325, 3.328, 3.323, 3.33, 3.322, 3.327, 3.334, 3.331, 3.324, 3.328, 3.326, 3.339, 3.32, 3.327, 3.329, 3.328]
    expect(spreadMv(cells)).toBe(19)
    expect(cellExtremes(cells)).toEqual({ min: 3.32, max: 3.339, minIndex: 12, maxIndex: 11, spreadMv: 19 })
  })
  it('is 0 for equal cells and null without cells', () => {
    expect(spreadMv([3.3, 3.3])).toBe(0)
    expect(spreadMv([])).toBeNull()
    expect(spreadMv(undefined)).toBeNull()
  })
  it('marks the first of equal extremes', () => {
    expect(cellExtremes([3.2, 3.4, 3.2, 3.4])).toMatchObject({ minIndex: 0, maxIndex: 1, spreadMv: 200 })
  })
})

describe('warmest', () => {
  it('names the warmest probe, 1-based', () => {
    expect(warmest([28, 31, 26])).toEqual({ probe: 2, value: 31 })
    expect(warmest([-5])).toEqual({ probe: 1, value: -5 })
    expect(warmest([])).toBeNull()
  })
})

describe('formatAge', () => {
  it('writes ages as a card shows them', () => {
    expect(formatAge(0)).toBe('just now')
    expect(formatAge(1999)).toBe('just now')
    expect(formatAge(2000)).toBe('2 s')
    expect(formatAge(59_999)).toBe('59 s')
    expect(formatAge(60_000)).toBe('1 min 00 s')
    expect(formatAge(185_000)).toBe('3 min 05 s')
    expect(formatAge(2 * 3_600_000 + 7 * 60_000)).toBe('2 h 07 min')
    expect(formatAge(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h')
    expect(formatAge(-5000)).toBe('just now')
  })
})

describe('durationWords', () => {
  it('says a Retry-After in words', () => {
    expect(durationWords(1)).toBe('1 second')
    expect(durationWords(125)).toBe('2 minutes 5 seconds')
    expect(durationWords(900)).toBe('15 minutes')
    expect(durationWords(3601)).toBe('1 hour 1 second')
    expect(durationWords(0)).toBe('0 seconds')
  })
})

describe('units', () => {
  it('formats volts, amps and power', () => {
    expect(fmtVolts(53.2)).toBe('53.20 V')
    expect(fmtAmps(-4.05)).toBe('-4.0 A')
    expect(fmtAmps(-0.04)).toBe('0.0 A')
    expect(fmtPower(-2128)).toBe('-2.13 kW')
    expect(fmtPower(669.4)).toBe('669 W')
    expect(fmtPower(undefined)).toBe('—')
  })
})

describe('conditionOf', () => {
  it('tells connected, asleep, lost and error apart', () => {
    expect(conditionOf('connected', 'ok', 1000, 30_000)).toBe('connected')
    expect(conditionOf('error', 'asleep', 1000, 30_000)).toBe('asleep')
    expect(conditionOf('error', 'no_reply', 1000, 30_000)).toBe('lost')
    expect(conditionOf('disconnected', 'device_gone', 1000, 30_000)).toBe('lost')
    expect(conditionOf('disconnected', 'open_failed', null, 30_000)).toBe('lost')
    expect(conditionOf('error', 'garbled', 1000, 30_000)).toBe('error')
    expect(conditionOf('error', 'incomplete', 1000, 30_000)).toBe('error')
    expect(conditionOf(undefined, undefined, null, 30_000)).toBe('unknown')
  })
  it('calls a connected link whose readings stopped lost', () => {
    expect(conditionOf('connected', 'ok', 30_001, 30_000)).toBe('lost')
    expect(conditionOf('connected', 'ok', 30_000, 30_000)).toBe('connected')
  })
})
