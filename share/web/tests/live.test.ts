import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LiveClient, backoffDelay, liveUrl, type LiveOptions } from '@/lib/live'
import type { LiveIn } from '@/api/types'

/** A WebSocket the test drives: what the client sends is kept, and the
 * server's side is played with open(), receive() and serverClose(). */
class FakeSocket {
  static all: FakeSocket[] = []
  url: string
  protocols: string[]
  readyState = 0
  sent: unknown[] = []
  closedWith: [number, string] | null = null
  onopen: ((e: unknown) => void) | null = null
  onmessage: ((e: { data: string }) => void) | null = null
  onclose: ((e: { code: number; reason: string }) => void) | null = null
  onerror: ((e: unknown) => void) | null = null

  constructor(url: string, protocols: string[]) {
    this.url = url
    this.protocols = protocols
    FakeSocket.all.push(this)
  }
  /** answer pings as bms-serve does */
  autoPong = true
  send(s: string) {
    const m = JSON.parse(s)
    this.sent.push(m)
    if (m.type === 'ping' && this.autoPong) queueMicrotask(() => this.receive({ type: 'pong' }))
  }
  close(code = 1000, reason = '') {
    this.closedWith = [code, reason]
    this.readyState = 3
  }
  open() {
    this.readyState = 1
    this.onopen?.({})
  }
  receive(m: unknown) {
    this.onmessage?.({ data: JSON.stringify(m) })
  }
  serverClose(code: number, reason = '') {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }
  hello(expiresAt = '2030-01-01T00:00:00.000Z') {
    this.open()
    this.receive({ type: 'hello', user: 'alice', tenant: 'home', role: 'operator', expires_at: expiresAt })
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1]

function client(over: Partial<LiveOptions> = {}) {
  const got: LiveIn[] = []
  const states: string[] = []
  let tokens = 0
  const o: LiveOptions = {
    url: 'ws://example.test/api/v1/live',
    token: async () => `tok-${++tokens}`,
    freshToken: async () => `fresh-${++tokens}`,
    onMessage: (m) => got.push(m),
    onState: (s) => states.push(s),
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    random: () => 0.5,
    ...over,
  }
  return { c: new LiveClient(o), got, states }
}

beforeEach(() => {
  FakeSocket.all = []
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('live client', () => {
  it('builds the URL from the page\'s address', () => {
    expect(liveUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/api/v1/live')
    expect(liveUrl({ protocol: 'https:', host: 'bms.example' })).toBe('wss://bms.example/api/v1/live')
  })

  it('signs in by subprotocol and subscribes to everything on hello', async () => {
    const { c, got } = client()
    c.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(last().protocols).toEqual(['bms-live.v1', 'bearer.tok-1'])
    expect(c.state).toBe('connecting')
    last().hello()
    expect(c.state).toBe('open')
    expect(last().sent).toEqual([{ type: 'subscribe' }])
    last().receive({ type: 'reading', bms_id: 'house', data: { bms_id: 'house', timestamp: '2026-12-07T10:00:00.000Z', pack_voltage: 53.2 } })
    expect(got.map((m) => m.type)).toEqual(['hello', 'reading'])
    c.stop()
  })

  it('tries again after 1, 2, 4 … 30 s, and subscribes again after it', async () => {
    const { c } = client()
    const resumed = vi.fn()
    ;(c as unknown as { o: LiveOptions }).o.onResumed = resumed
    c.start()
    await vi.advanceTimersByTimeAsync(0)
    last().hello()
    last().serverClose(1006)
    expect(c.state).toBe('reconnecting')
    expect(c.downSince).not.toBeNull()
    const waits: number[] = []
    for (let i = 0; i < 7; i++) {
      const n = FakeSocket.all.length
      const before = Date.now()
      while (FakeSocket.all.length === n) await vi.advanceTimersByTimeAsync(100)
      waits.push(Date.now() - before)
      last().serverClose(1006)
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000])
    while (FakeSocket.all.length === 8) await vi.advanceTimersByTimeAsync(1000)
    last().hello()
    expect(c.state).toBe('open')
    expect(c.downSince).toBeNull()
    expect(c.attempts).toBe(0)
    expect(last().sent).toEqual([{ type: 'subscribe' }])
    expect(resumed).toHaveBeenCalledTimes(1)
    c.stop()
  })

  it('jitters the wait by at most a fifth', () => {
    expect(backoffDelay(0, 1000, 30000, 0)).toBe(800)
    expect(backoffDelay(0, 1000, 30000, 0.5)).toBe(1000)
    expect(backoffDelay(3, 1000, 30000, 1)).toBe(9600)
    expect(backoffDelay(10, 1000, 30000, 0.5)).toBe(30000)
  })

  it('gets a fresh token after 4401', async () => {
    const { c } = client()
    c.start()
    await vi.advanceTimersByTimeAsync(0)
    last().hello()
    last().serverClose(4401, 'the token expired: sign in again')
    await vi.advanceTimersByTimeAsync(1000)
    expect(last().protocols).toEqual(['bms-live.v1', 'bearer.fresh-2'])
    c.stop()
  })

  it('stops for good after 4403', async () => {
    const forbidden = vi.fn()
    const { c } = client({ onForbidden: forbidden })
    c.start()
    await vi.advanceTimersByTimeAsync(0)
    last().hello()
    last().serverClose(4403, 'the user is gone or disabled')
    expect(forbidden).toHaveBeenCalledWith('the user is gone or disabled')
    expect(c.state).toBe('stopped')
    await vi.advanceTimersByTimeAsync(120_000)
    expect(FakeSocket.all).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('sends a fresh token as an auth message', async () => {
    const { c } = client()
    c.start()
    await vi.advanceTimersByTimeAsync(0)
    last().hello()
    c.reauth('newer')
    c.reauth('newer')
    c.reauth('tok-1')
    expect(last().sent).toEqual([{ type: 'subscribe' }, { type: 'auth', token: 'newer' }, { type: 'auth', token: 'tok-1' }])
    c.stop()
  })

  it('asks for a fresh token 30 s before expires_at', async () => {
    const fresh = vi.fn(async () => 'fresh-x')
    const { c } = client({ freshToken: fresh })
    c.start()
    await vi.advanceTimersByTimeAsync(0)
    last().hello(new Date(Date.now() + 900_000).toISOString())
    await vi.advanceTimersByTimeAsync(869_000)
    expect(fresh).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1000)
    expect(fresh).toHaveBeenCalledTimes(1)
    expect(last().sent).toContainEqual({ type: 'auth', token: 'fresh-x' })
    c.stop()
  })

  it('pings, and drops a connection that says nothing', async () => {
    const { c } = client({ pingMs: 20_000, deadMs: 50_000 })
    c.start()
    await vi.advanceTimersByTimeAsync(0)
    const ws = last()
    ws.hello()
    await vi.advanceTimersByTimeAsync(100_000)
    expect(ws.sent).toEqual([{ type: 'subscribe' }, { type: 'ping' }, { type: 'ping' }, { type: 'ping' }, { type: 'ping' }, { type: 'ping' }])
    expect(c.state).toBe('open')
    ws.autoPong = false
    await vi.advanceTimersByTimeAsync(60_000)
    expect(ws.closedWith).toEqual([4000, 'no answer'])
    expect(c.state).toBe('reconnecting')
    c.stop()
  })

  it('leaves no timer and no open socket after stop', async () => {
    const { c } = client()
    c.start()
    await vi.advanceTimersByTimeAsync(0)
    last().hello()
    last().serverClose(1001, 'the server is stopping')
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    c.stop()
    expect(vi.getTimerCount()).toBe(0)
    expect(c.state).toBe('stopped')
  })

  it('ignores what is not JSON', async () => {
    const { c, got } = client()
    c.start()
    await vi.advanceTimersByTimeAsync(0)
    last().hello()
    last().onmessage?.({ data: 'not json' })
    expect(got.map((m) => m.type)).toEqual(['hello'])
    c.stop()
  })
})
