// The client of bms-serve's live updates (/api/v1/live, lib/live.h).
//
// It signs in with the subprotocols ["bms-live.v1", "bearer.TOKEN"],
// subscribes to every battery of the tenant on hello, and passes each
// reading, status and alert on.  It keeps the connection up: a lost one
// is tried again after a growing wait (base × 2^n, at most max, ±20 %
// jitter), a fresh token is sent as {"type":"auth"} whenever the session
// gets one (and asked for before expires_at should none come), a close
// with 4401 (token not valid) gets a fresh token before the next try,
// 4403 (user gone or disabled) ends the session, and a connection that
// says nothing for deadMs (the client pings every pingMs) is dropped and
// tried again.  No timer outlives stop().

import type { LiveIn } from '@/api/types'

export type LiveState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'stopped'

export interface LiveOptions {
  url: string
  /** the access token to sign in with, fresh; null: not signed in */
  token: () => Promise<string | null>
  /** a new token after the server refused one (4401); null: none */
  freshToken: () => Promise<string | null>
  onMessage: (m: LiveIn) => void
  onState?: (s: LiveState) => void
  /** the server closed with 4403: the user is gone or disabled */
  onForbidden?: (reason: string) => void
  /** a hello after a reconnection: what came meanwhile was missed */
  onResumed?: () => void
  WebSocket?: typeof WebSocket
  now?: () => number
  random?: () => number
  baseMs?: number
  maxMs?: number
  pingMs?: number
  deadMs?: number
}

export const LIVE_PROTOCOL = 'bms-live.v1'

export function liveUrl(loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/api/v1/live`
}

/** The wait before try n (0-based) with r from [0, 1): base × 2^n up to
 * max, scaled by 0.8 to 1.2. */
export function backoffDelay(n: number, baseMs: number, maxMs: number, r: number): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.min(n, 20))
  return Math.round(d * (0.8 + 0.4 * r))
}

export class LiveClient {
  state: LiveState = 'idle'
  /** ms: when the connection last went down (null while up) */
  downSince: number | null = null
  /** ms: when the next try is due (null unless waiting) */
  retryAt: number | null = null
  attempts = 0
  lastMessageAt = 0
  expiresAt = 0
  closeReason = ''

  private o: Required<Omit<LiveOptions, 'onState' | 'onForbidden' | 'onResumed'>> &
    Pick<LiveOptions, 'onState' | 'onForbidden' | 'onResumed'>
  private ws: WebSocket | null = null
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private expiryTimer: ReturnType<typeof setTimeout> | null = null
  private needFresh = false
  /** the token the server has from us, so one is never sent twice */
  private sentToken: string | null = null
  private everOpened = false
  private generation = 0

  constructor(o: LiveOptions) {
    this.o = {
      WebSocket: globalThis.WebSocket,
      now: () => Date.now(),
      random: Math.random,
      baseMs: 1000,
      maxMs: 30_000,
      pingMs: 20_000,
      deadMs: 50_000,
      ...o,
    }
  }

  start(): void {
    if (this.state !== 'idle' && this.state !== 'stopped') return
    this.attempts = 0
    this.everOpened = false
    void this.connect()
  }

  stop(): void {
    this.generation++
    this.clearTimers()
    const ws = this.ws
    this.ws = null
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
      try {
        ws.close(1000, 'bye')
      } catch {
        /* closed already */
      }
    }
    this.retryAt = null
    this.setState('stopped')
  }

  /** Try now rather than at the end of the wait. */
  reconnectNow(): void {
    if (this.state !== 'reconnecting') return
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
    this.retryAt = null
    void this.connect()
  }

  /** A fresh token for the open connection ({"type":"auth"}); one the
   * server has already is not sent again. */
  reauth(token: string): void {
    if (this.state !== 'open' || token === this.sentToken) return
    if (this.send({ type: 'auth', token })) this.sentToken = token
  }

  send(m: unknown): boolean {
    if (!this.ws || this.ws.readyState !== 1) return false
    this.ws.send(JSON.stringify(m))
    return true
  }

  /** Told on every change of state, and of downSince and retryAt. */
  private setState(s: LiveState) {
    this.state = s
    this.o.onState?.(s)
  }

  private clearTimers() {
    if (this.retryTimer) clearTimeout(this.retryTimer)
    if (this.pingTimer) clearInterval(this.pingTimer)
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    this.retryTimer = this.pingTimer = this.expiryTimer = null
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation
    this.setState(this.everOpened ? 'reconnecting' : 'connecting')
    const token = this.needFresh ? await this.o.freshToken() : await this.o.token()
    this.needFresh = false
    if (gen !== this.generation) return
    if (!token) {
      this.stop()
      return
    }
    let ws: WebSocket
    try {
      ws = new this.o.WebSocket(this.o.url, [LIVE_PROTOCOL, `bearer.${token}`])
      this.sentToken = token
    } catch {
      this.scheduleRetry()
      return
    }
    this.ws = ws
    ws.onmessage = (ev) => this.message(ev.data)
    ws.onclose = (ev) => this.closed(ev.code, ev.reason)
    ws.onerror = () => {
      /* a close follows */
    }
  }

  private message(data: unknown) {
    this.lastMessageAt = this.o.now()
    let m: LiveIn
    try {
      m = JSON.parse(String(data)) as LiveIn
    } catch {
      return
    }
    if (!m || typeof m !== 'object' || typeof m.type !== 'string') return
    if (m.type === 'hello') {
      const resumed = this.everOpened
      this.everOpened = true
      this.attempts = 0
      this.downSince = null
      this.retryAt = null
      this.closeReason = ''
      this.expiresAt = Date.parse(m.expires_at) || 0
      this.armExpiry()
      if (this.state !== 'open') {
        this.send({ type: 'subscribe' })
        this.armPing()
        this.setState('open')
        if (resumed) this.o.onResumed?.()
      }
    }
    this.o.onMessage(m)
  }

  /** Ask for a fresh token 30 s before expires_at, should the session
   * not have sent one by then. */
  private armExpiry() {
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    this.expiryTimer = null
    if (!this.expiresAt) return
    const gen = this.generation
    // (a timer's delay is at most 2^31 - 1 ms; a longer one fires at once)
    const wait = Math.min(2 ** 31 - 1, Math.max(1000, this.expiresAt - 30_000 - this.o.now()))
    this.expiryTimer = setTimeout(async () => {
      this.expiryTimer = null
      const t = await this.o.freshToken()
      if (t && gen === this.generation) this.reauth(t)
    }, wait)
  }

  private armPing() {
    if (this.pingTimer) clearInterval(this.pingTimer)
    this.pingTimer = setInterval(() => {
      if (this.o.now() - this.lastMessageAt > this.o.deadMs) {
        // nothing, not even a pong: the connection is dead but not closed
        this.ws?.close(4000, 'no answer')
        this.closed(4000, 'no answer')
        return
      }
      this.send({ type: 'ping' })
    }, this.o.pingMs)
  }

  private closed(code: number, reason: string) {
    if (this.ws) this.ws.onopen = this.ws.onmessage = this.ws.onclose = this.ws.onerror = null
    this.ws = null
    this.generation++
    this.clearTimers()
    if (this.state === 'stopped') return
    if (this.downSince === null) this.downSince = this.o.now()
    this.closeReason = reason
    if (code === 4403) {
      this.setState('stopped')
      this.o.onForbidden?.(reason)
      return
    }
    if (code === 4401) this.needFresh = true
    this.scheduleRetry()
  }

  private scheduleRetry() {
    const delay = backoffDelay(this.attempts, this.o.baseMs, this.o.maxMs, this.o.random())
    this.attempts++
    this.retryAt = this.o.now() + delay
    this.setState('reconnecting')
    const gen = this.generation
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (gen !== this.generation) return
      this.retryAt = null
      void this.connect()
    }, delay)
  }
}
