// Signing in and keeping the session.
//
// The access token lives in memory only (this store): a script that
// reads storage cannot take it, and it dies with the page.  The refresh
// token is kept in sessionStorage, not localStorage: it survives a
// reload of the tab but not the closing of the browser, and it is not
// shared between tabs.  That last point matters more than it seems: a
// refresh token is good once and bms-serve rotates it on each use, so
// tabs sharing one token would race to refresh it, and the loser's use
// of a spent token makes the server revoke the whole family (token
// reuse), signing every tab out.  Each tab signs in on its own instead.
//
// The access token is refreshed in the background before it expires
// (and, should the machine have slept through that, before the next
// request), and once more when a request is answered 401.  Refreshes
// are shared: only one is ever in flight.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, ApiError, setTokenSource } from '@/api/client'
import type { Role, TokenResponse, TokenUser } from '@/api/types'

export const REFRESH_KEY = 'trackingbms.refresh'

/** Refresh this long before the access token expires (at most a fifth
 * of its life). */
export const REFRESH_LEAD_MS = 60_000
/** Wait this long before trying again a refresh the network failed. */
export const REFRESH_RETRY_MS = 15_000

const rank: Record<string, number> = { viewer: 1, operator: 2, admin: 3 }

export function isSuperAdminUser(u: TokenUser | null): boolean {
  if (!u) return false
  return u.role === 'super-admin' || !u.tenant
}

function storage(): Storage | null {
  try {
    return window.sessionStorage
  } catch {
    return null
  }
}

export const useAuth = defineStore('auth', () => {
  const accessToken = ref<string | null>(null)
  /** ms since the epoch */
  const expiresAt = ref(0)
  const user = ref<TokenUser | null>(null)
  /** true once the stored session was tried at start */
  const ready = ref(false)
  /** why the session ended, for the sign-in page */
  const notice = ref('')

  let timer: ReturnType<typeof setTimeout> | null = null
  let inflight: Promise<string | null> | null = null

  const signedIn = computed(() => accessToken.value !== null && user.value !== null)
  const role = computed<Role | null>(() => user.value?.role ?? null)
  const isSuperAdmin = computed(() => isSuperAdminUser(user.value))

  /** At least this role in the tenant (a super-admin has none). */
  function can(min: Role): boolean {
    if (!user.value) return false
    if (min === 'super-admin') return isSuperAdmin.value
    if (isSuperAdmin.value) return false
    return (rank[user.value.role] ?? 0) >= (rank[min] ?? 99)
  }

  function clearTimer() {
    if (timer !== null) clearTimeout(timer)
    timer = null
  }

  function schedule(delay: number) {
    clearTimer()
    timer = setTimeout(() => {
      timer = null
      void refresh()
    }, Math.max(1000, delay))
  }

  function take(t: TokenResponse) {
    accessToken.value = t.access_token
    const life = t.expires_in * 1000
    expiresAt.value = Date.now() + life
    user.value = { ...t.user }
    notice.value = ''
    if (t.refresh_token) {
      storage()?.setItem(REFRESH_KEY, t.refresh_token)
      schedule(life - Math.min(REFRESH_LEAD_MS, life / 5))
    } else {
      // a super-admin gets no refresh token: the session ends with the
      // access token
      storage()?.removeItem(REFRESH_KEY)
      clearTimer()
      timer = setTimeout(() => {
        timer = null
        end('A super-admin session lasts as long as its access token: please sign in again.')
      }, life)
    }
  }

  /** Forget the session here (the server's side is logout's job). */
  function end(why: string) {
    clearTimer()
    accessToken.value = null
    expiresAt.value = 0
    user.value = null
    storage()?.removeItem(REFRESH_KEY)
    notice.value = why
  }

  async function login(tenant: string, username: string, password: string): Promise<void> {
    const body = tenant.trim() === '' ? { username, password } : { tenant: tenant.trim(), username, password }
    const t = await api.post<TokenResponse>('/auth/login', body, { auth: false })
    take(t)
  }

  /** A new access token for the stored refresh token; null when there
   * is none or the server refused it (the session is then over).  A
   * network failure keeps the session and tries again soon. */
  function refresh(): Promise<string | null> {
    if (inflight) return inflight
    const rt = storage()?.getItem(REFRESH_KEY)
    if (!rt) return Promise.resolve(null)
    inflight = (async () => {
      try {
        const t = await api.post<TokenResponse>('/auth/refresh', { refresh_token: rt }, { auth: false })
        take(t)
        return t.access_token
      } catch (e) {
        if (e instanceof ApiError && (e.status === 0 || e.status >= 500)) {
          if (accessToken.value) schedule(REFRESH_RETRY_MS)
          return null
        }
        end('Your session has ended: please sign in again.')
        return null
      } finally {
        inflight = null
      }
    })()
    return inflight
  }

  /** The token to send: refreshed first when it expires within the lead
   * (a machine that slept has timers that fired late). */
  async function token(): Promise<string | null> {
    if (accessToken.value === null) return null
    if (Date.now() >= expiresAt.value - 5_000) {
      const t = await refresh()
      return t ?? accessToken.value
    }
    return accessToken.value
  }

  /** After a 401: the token again if another refresh replaced the one
   * sent meanwhile, else one refresh. */
  async function refreshAfter401(sent: string | null): Promise<string | null> {
    if (inflight) return inflight
    if (accessToken.value !== null && sent !== null && accessToken.value !== sent) return accessToken.value
    const t = await refresh()
    if (t === null && accessToken.value !== null && storage()?.getItem(REFRESH_KEY) == null) {
      end('Your session has ended: please sign in again.')
    }
    return t
  }

  /** At start: sign in again from the tab's refresh token, if any. */
  async function restore(): Promise<void> {
    try {
      if (storage()?.getItem(REFRESH_KEY)) await refresh()
    } finally {
      ready.value = true
    }
  }

  async function logout(): Promise<void> {
    const rt = storage()?.getItem(REFRESH_KEY)
    end('')
    if (rt) {
      try {
        await api.post('/auth/logout', { refresh_token: rt }, { auth: false })
      } catch {
        /* signed out here all the same */
      }
    }
  }

  setTokenSource({ token, refreshAfter401 })

  return {
    accessToken, expiresAt, user, ready, notice, signedIn, role, isSuperAdmin,
    can, login, refresh, token, refreshAfter401, restore, logout, end,
  }
})
