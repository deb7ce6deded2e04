import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { eachLimited, useBatteries } from '@/stores/batteries'
import type { BMSConnection } from '@/api/types'
import { mockFetch } from './helpers'

const conn = (bms_id: string, over: Partial<BMSConnection> = {}): BMSConnection => ({
  id: `uuid-${bms_id}`, bms_id, name: null, bms_type: null,
  connection_config: { protocol: null, device_path: null },
  status: 'connected', last_data_received: '2026-12-07T10:00:00.000Z', connection_quality: 100,
  created_at: '2026-12-07T09:00:00.000Z', ...over,
})
const reading = (bms_id: string, timestamp: string, extra = {}) => ({ bms_id, timestamp, pack_voltage: 53.2, ...extra })

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.unstubAllGlobals())

describe('batteries store', () => {
  it('loads the list, then each battery\'s latest reading and link status', async () => {
    const calls = mockFetch((c) => {
      if (c.url === '/api/v1/bms') return { status: 200, body: [conn('house'), conn('shed')] }
      if (c.url === '/api/v1/bms/data/house') return { status: 200, body: reading('house', '2026-12-07T10:00:00.000Z') }
      if (c.url === '/api/v1/bms/data/shed') return { status: 404, body: { error: 'not_found', message: 'no reading yet' } }
      if (c.url === '/api/v1/bms/house/status') return { status: 200, body: { bms_id: 'house', timestamp: '2026-12-07T09:59:00.000Z', state: 'error', reason: 'asleep', quality: 40 } }
      return { status: 404, body: { error: 'not_found', message: 'no status' } }
    })
    const s = useBatteries()
    await s.fetchAll()
    expect(s.error).toBe('')
    expect(s.loaded).toBe(true)
    expect(calls.map((c) => c.url).sort()).toEqual([
      '/api/v1/bms', '/api/v1/bms/data/house', '/api/v1/bms/data/shed', '/api/v1/bms/house/status', '/api/v1/bms/shed/status',
    ])
    expect(Object.keys(s.latest)).toEqual(['house'])
    expect(s.status.house.reason).toBe('asleep')
    expect(s.byId.house.status).toBe('error')
    expect(s.byId.house.connection_quality).toBe(40)
  })

  it('keeps the newest reading and learns the interval between readings', () => {
    const s = useBatteries()
    s.list = [conn('house')]
    s.applyReading(reading('house', '2026-12-07T10:00:00.000Z', { pack_voltage: 1 }))
    s.applyReading(reading('house', '2026-12-07T10:00:05.000Z', { pack_voltage: 2 }))
    s.applyReading(reading('house', '2026-12-07T10:00:03.000Z', { pack_voltage: 3 }))
    expect(s.latest.house.pack_voltage).toBe(2)
    expect(s.interval.house).toBe(5000)
    expect(s.byId.house.last_data_received).toBe('2026-12-07T10:00:05.000Z')
    expect(s.staleAfter('house')).toBe(30_000)
    s.applyReading(reading('house', '2026-12-07T10:01:05.000Z'))
    expect(s.staleAfter('house')).toBe(180_000)
  })

  it('registers, and removes with or without the records', async () => {
    const calls = mockFetch((c) => {
      if (c.url === '/api/v1/bms/connect') return { status: 201, body: conn('van', { bms_type: 'daly_bms' }) }
      return { status: 204 }
    })
    const s = useBatteries()
    s.list = [conn('shed')]
    await s.register({ bms_id: 'van', bms_type: 'daly_bms', connection_config: { protocol: 'uart', device_path: '/dev/ttyUSB0' } })
    expect(s.list.map((b) => b.bms_id)).toEqual(['shed', 'van'])
    await s.remove('van', true)
    await s.remove('shed')
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST /api/v1/bms/connect', 'DELETE /api/v1/bms/van?purge=true', 'DELETE /api/v1/bms/shed',
    ])
    expect(s.list).toEqual([])
  })

  it('runs at most n requests at once', async () => {
    let running = 0
    let most = 0
    await eachLimited([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3, async () => {
      running++
      most = Math.max(most, running)
      await new Promise((r) => setTimeout(r, 1))
      running--
    })
    expect(most).toBe(3)
  })
})
