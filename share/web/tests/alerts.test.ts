import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { episodesOf, useAlerts } from '@/stores/alerts'
import type { Alert } from '@/api/types'
import { mockFetch } from './helpers'

let nextId = 1
function rec(over: Partial<Alert>): Alert {
  return {
    type: 'alert', bms_id: 'house', timestamp: '2026-12-07T10:00:00.000Z', alert_id: 'house/cell_high', rule: 'cell_high',
    state: 'raised', severity: 'warning', since: '2026-12-07T10:00:00.000Z', count: 1, message: 'cell 7 at 3.70 V',
    id: nextId++, ...over,
  }
}

beforeEach(() => {
  setActivePinia(createPinia())
  nextId = 1
})
afterEach(() => vi.unstubAllGlobals())

describe('episodes', () => {
  it('makes one episode of a raise and its escalation, open until it clears', () => {
    const a = rec({})
    const b = rec({ state: 'escalated', severity: 'critical', timestamp: '2026-12-07T10:05:00.000Z', count: 2 })
    const other = rec({ alert_id: 'shed/soc_low', bms_id: 'shed', rule: 'soc_low', timestamp: '2026-12-07T09:00:00.000Z', since: '2026-12-07T09:00:00.000Z' })
    const cleared = rec({ alert_id: 'shed/soc_low', bms_id: 'shed', rule: 'soc_low', state: 'cleared', timestamp: '2026-12-07T09:30:00.000Z', since: '2026-12-07T09:00:00.000Z' })
    const eps = episodesOf([cleared, b, a, other])
    expect(eps.map((e) => [e.alert_id, e.open, e.severity, e.last.id, e.records.map((r) => r.id)])).toEqual([
      ['house/cell_high', true, 'critical', 2, [1, 2]],
      ['shed/soc_low', false, 'warning', 4, [3, 4]],
    ])
  })

  it('keeps an earlier raise of the same alert apart', () => {
    const eps = episodesOf([
      rec({ since: '2026-12-06T10:00:00.000Z', timestamp: '2026-12-06T10:00:00.000Z' }),
      rec({ since: '2026-12-06T10:00:00.000Z', timestamp: '2026-12-06T11:00:00.000Z', state: 'cleared' }),
      rec({}),
    ])
    expect(eps.map((e) => [e.since, e.open])).toEqual([
      ['2026-12-07T10:00:00.000Z', true],
      ['2026-12-06T10:00:00.000Z', false],
    ])
  })

  it('reads a notify_failed copy as its event', () => {
    const eps = episodesOf([rec({ state: 'notify_failed', event: 'cleared', error: 'exit 1' })])
    expect(eps[0].open).toBe(false)
  })

  it('takes the first acknowledgement of the episode', () => {
    const eps = episodesOf([
      rec({ ack_by: 'bob', ack_at: '2026-12-07T10:09:00.000Z' }),
      rec({ state: 'repeated', timestamp: '2026-12-07T10:10:00.000Z', ack_by: 'alice', ack_at: '2026-12-07T10:08:00.000Z' }),
    ])
    expect(eps[0].acked).toEqual({ by: 'alice', at: '2026-12-07T10:08:00.000Z' })
  })
})

describe('alerts store', () => {
  it('counts open alerts per battery, live records included', async () => {
    const calls = mockFetch(() => ({ status: 200, body: [rec({}), rec({ alert_id: 'house/temp_high', rule: 'temp_high' })] }))
    const s = useAlerts()
    await s.fetchOpen()
    expect(calls[0].url).toBe('/api/v1/alerts?open=true&since=-30d')
    expect(s.openCount).toEqual({ house: 2 })
    s.applyAlert(rec({ alert_id: 'house/temp_high', rule: 'temp_high', state: 'cleared', timestamp: '2026-12-07T10:01:00.000Z' }))
    s.applyAlert(rec({ bms_id: 'van', alert_id: 'van/soc_low', rule: 'soc_low' }))
    expect(s.openCount).toEqual({ house: 1, van: 1 })
  })

  it('acknowledges with a note, and takes a 409 as the first acknowledgement', async () => {
    const calls = mockFetch((c) =>
      c.url === '/api/v1/alerts/1/ack'
        ? { status: 200, body: { id: 1, ack_by: 'alice', ack_at: '2026-12-07T10:05:00.000Z' } }
        : { status: 409, body: { id: 2, ack_by: 'bob', ack_at: '2026-12-07T10:04:00.000Z', error: 'conflict', message: 'acknowledged already' } })
    const s = useAlerts()
    s.applyAlert(rec({}))
    s.applyAlert(rec({ alert_id: 'house/temp_high', rule: 'temp_high' }))
    expect(await s.ack(1, '  topped the cell down ')).toEqual({ id: 1, ack_by: 'alice', ack_at: '2026-12-07T10:05:00.000Z', already: false })
    expect(calls[0].body).toEqual({ note: 'topped the cell down' })
    expect(s.records[1].ack_by).toBe('alice')
    const r = await s.ack(2, '')
    expect(calls[1].body).toEqual({})
    expect(r.already).toBe(true)
    expect(s.records[2].ack_by).toBe('bob')
  })

  it('gives one alert\'s records in order', async () => {
    mockFetch(() => ({
      status: 200,
      body: [
        rec({ state: 'cleared', timestamp: '2026-12-07T10:20:00.000Z' }),
        rec({ alert_id: 'house/other', rule: 'other' }),
        rec({}),
      ],
    }))
    const s = useAlerts()
    const h = await s.history('house/cell_high', 'house')
    expect(h.map((r) => [r.id, r.state])).toEqual([[3, 'raised'], [1, 'cleared']])
  })
})
