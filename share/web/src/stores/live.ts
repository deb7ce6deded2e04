// The live connection as the page sees it: its state for the banner, and
// the records it brings handed to the batteries and alerts stores.

import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import { LiveClient, liveUrl, type LiveState, type LiveOptions } from '@/lib/live'
import type { LiveIn } from '@/api/types'
import { useAuth } from './auth'
import { useBatteries } from './batteries'
import { useAlerts } from './alerts'

/** Listeners for readings of one battery (the detail page's charts). */
type ReadingListener = (m: Extract<LiveIn, { type: 'reading' }>['data']) => void

export const useLive = defineStore('live', () => {
  const state = ref<LiveState>('idle')
  const downSince = ref<number | null>(null)
  const retryAt = ref<number | null>(null)
  const attempts = ref(0)
  const reason = ref('')
  const lastMessageAt = ref(0)
  let client: LiveClient | null = null
  let stopWatch: (() => void) | null = null
  const listeners = new Set<ReadingListener>()

  /** For tests: another WebSocket and timings. */
  let overrides: Partial<LiveOptions> = {}
  function configure(o: Partial<LiveOptions>) {
    overrides = o
  }

  function sync() {
    if (!client) return
    state.value = client.state
    downSince.value = client.downSince
    retryAt.value = client.retryAt
    attempts.value = client.attempts
    reason.value = client.closeReason
    lastMessageAt.value = client.lastMessageAt
  }

  function onMessage(m: LiveIn) {
    const bat = useBatteries()
    switch (m.type) {
      case 'reading':
        bat.applyReading(m.data)
        for (const l of listeners) l(m.data)
        break
      case 'status':
        bat.applyStatus(m.data)
        break
      case 'alert':
        useAlerts().applyAlert(m.data)
        break
    }
    lastMessageAt.value = client?.lastMessageAt ?? Date.now()
  }

  function start() {
    if (client) return
    const auth = useAuth()
    client = new LiveClient({
      url: liveUrl(),
      token: () => auth.token(),
      freshToken: () => auth.refresh(),
      onMessage,
      onState: () => sync(),
      onForbidden: () => auth.end('Your account was disabled or removed.'),
      onResumed: () => {
        // what came while the connection was down was missed
        void useBatteries().fetchAll()
        void useAlerts().fetchOpen().catch(() => {})
      },
      ...overrides,
    })
    stopWatch = watch(
      () => auth.accessToken,
      (t, old) => {
        if (t && old && t !== old) client?.reauth(t)
      },
    )
    client.start()
    sync()
    window.addEventListener('online', reconnectNow)
    document.addEventListener('visibilitychange', onVisible)
  }

  /** Back on the network, or back to the tab: no need to wait out the
   * backoff. */
  function onVisible() {
    if (document.visibilityState === 'visible') reconnectNow()
  }

  function stop() {
    window.removeEventListener('online', reconnectNow)
    document.removeEventListener('visibilitychange', onVisible)
    stopWatch?.()
    stopWatch = null
    client?.stop()
    sync()
    client = null
    state.value = 'idle'
  }

  function reconnectNow() {
    client?.reconnectNow()
    sync()
  }

  function onReading(l: ReadingListener): () => void {
    listeners.add(l)
    return () => listeners.delete(l)
  }

  return { state, downSince, retryAt, attempts, reason, lastMessageAt, start, stop, reconnectNow, onReading, configure }
})
