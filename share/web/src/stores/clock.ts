// One clock for every age on the page, ticking once a second, so forty
// cards do not each keep a timer.  It runs on the server's time: a
// reading's age is the server's now minus the reading's timestamp, both
// by the clock of the machine that stamped it, so a browser (or a
// Raspberry Pi without a real-time clock) that is minutes off does not
// make every battery look stale or fresh.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api } from '@/api/client'
import type { HealthResponse } from '@/api/types'

/** Offsets under this are left alone (network jitter). */
export const SKEW_IGNORED_MS = 1500

export const useClock = defineStore('clock', () => {
  /** ms, by the server's clock */
  const now = ref(Date.now())
  /** server minus browser, ms */
  const offset = ref(0)
  let timer: ReturnType<typeof setInterval> | null = null
  let users = 0

  function tick() {
    now.value = Date.now() + offset.value
  }

  /** Keep ticking while at least one user holds it. */
  function hold(): () => void {
    users++
    if (timer === null) {
      tick()
      timer = setInterval(tick, 1000)
    }
    let held = true
    return () => {
      if (!held) return
      held = false
      if (--users === 0 && timer !== null) {
        clearInterval(timer)
        timer = null
      }
    }
  }

  /** Learn the offset from GET /health's timestamp (halfway through the
   * request); an answer that took over two seconds tells nothing. */
  async function sync(): Promise<void> {
    const t0 = Date.now()
    let h: HealthResponse
    try {
      h = await api.get<HealthResponse>('/health', { auth: false })
    } catch (e) {
      // 503 still carries the server's time, but one is not worth more
      return void e
    }
    const t1 = Date.now()
    const server = Date.parse(h.timestamp)
    if (!Number.isFinite(server) || t1 - t0 > 2000) return
    const off = server - (t0 + t1) / 2
    offset.value = Math.abs(off) < SKEW_IGNORED_MS ? 0 : Math.round(off)
    tick()
  }

  return { now, offset, tick, hold, sync }
})
