import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { nextTick } from 'vue'
import { useLive } from '@/stores/live'
import { useAuth } from '@/stores/auth'
import { useBatteries } from '@/stores/batteries'
import { useAlerts } from '@/stores/alerts'
import { mockFetch, tokenResponse } from './helpers'

class Sock {
  static last: Sock | null = null
  readyState = 0
  sent: unknown[] = []
  protocols: string[]
  onmessage: ((e: { data: string }) => void) | null = null
  onclose: ((e: { code: number; reason: string }) => void) | null = null
  onopen: (() => void) | null = null
  onerror: (() => void) | null = null
  constructor(_url: string, protocols: string[]) {
    this.protocols = protocols
    Sock.last = this
  }
  send(s: string) {
    this.sent.push(JSON.parse(s))
  }
  close() {
    this.readyState = 3
  }
  receive(m: unknown) {
    this.readyState = 1
    this.onmessage?.({ data: JSON.stringify(m) })
  }
}

beforeEach(() => {
  setActivePinia(createPinia())
  sessionStorage.clear()
  Sock.last = null
})
afterEach(() => vi.unstubAllGlobals())

describe('live store', () => {
  it('hands readings, status and alerts to their stores, and a fresh token to the socket', async () => {
    let n = 0
    mockFetch(() => ({ status: 200, body: tokenResponse(++n) }))
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw')
    const live = useLive()
    live.configure({ WebSocket: Sock as unknown as typeof WebSocket })
    const seen: string[] = []
    const off = live.onReading((r) => seen.push(r.timestamp))
    live.start()
    await vi.waitFor(() => expect(Sock.last).not.toBeNull())
    const ws = Sock.last!
    expect(ws.protocols).toEqual(['bms-live.v1', 'bearer.access-1'])
    ws.receive({ type: 'hello', user: 'alice', tenant: 'home', role: 'operator', expires_at: '2030-01-01T00:00:00.000Z' })
    expect(live.state).toBe('open')
    ws.receive({ type: 'reading', bms_id: 'house', data: { bms_id: 'house', timestamp: '2026-12-07T10:00:00.000Z', soc_percent: 80 } })
    ws.receive({ type: 'status', bms_id: 'house', data: { bms_id: 'house', timestamp: '2026-12-07T10:00:01.000Z', state: 'error', reason: 'asleep', quality: 0 } })
    ws.receive({
      type: 'alert', bms_id: 'house',
      data: { type: 'alert', bms_id: 'house', timestamp: '2026-12-07T10:00:02.000Z', alert_id: 'house/soc_low', rule: 'soc_low', state: 'raised', severity: 'warning', since: '2026-12-07T10:00:02.000Z', count: 1, message: 'low', id: 9 },
    })
    expect(useBatteries().latest.house.soc_percent).toBe(80)
    expect(useBatteries().status.house.reason).toBe('asleep')
    expect(useAlerts().openCount).toEqual({ house: 1 })
    expect(seen).toEqual(['2026-12-07T10:00:00.000Z'])
    await auth.refresh()
    await nextTick()
    expect(ws.sent).toEqual([{ type: 'subscribe' }, { type: 'auth', token: 'access-2' }])
    off()
    live.stop()
    expect(live.state).toBe('idle')
  })
})
