import { beforeEach, describe, expect, it, vi, afterEach } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { REFRESH_KEY, useAuth } from '@/stores/auth'
import { api, ApiError } from '@/api/client'
import { mockFetch, tokenResponse } from './helpers'

beforeEach(() => {
  setActivePinia(createPinia())
  sessionStorage.clear()
  localStorage.clear()
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('sign-in', () => {
  it('keeps the access token in memory and the refresh token in sessionStorage', async () => {
    const calls = mockFetch(() => ({ status: 200, body: tokenResponse(1) }))
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw-123456')
    expect(calls).toHaveLength(1)
    expect(calls[0]).toEqual({
      method: 'POST', url: '/api/v1/auth/login', auth: null,
      body: { tenant: 'home', username: 'alice', password: 'pw-123456' },
    })
    expect(auth.accessToken).toBe('access-1')
    expect(auth.signedIn).toBe(true)
    expect(auth.user).toEqual({ name: 'alice', tenant: 'home', role: 'operator' })
    expect(sessionStorage.getItem(REFRESH_KEY)).toBe(tokenResponse(1).refresh_token)
    expect(JSON.stringify({ ...sessionStorage })).not.toContain('access-1')
    expect(JSON.stringify({ ...localStorage })).not.toContain('access-1')
  })

  it('leaves the tenant out for a super-admin, who gets no refresh token', async () => {
    vi.useFakeTimers()
    const calls = mockFetch(() => ({
      status: 200,
      body: tokenResponse(1, { refresh_token: undefined, expires_in: 600, user: { name: 'root', tenant: null, role: 'super-admin' } }),
    }))
    const auth = useAuth()
    await auth.login('', 'root', 'pw-123456')
    expect(calls[0].body).toEqual({ username: 'root', password: 'pw-123456' })
    expect(auth.isSuperAdmin).toBe(true)
    expect(auth.can('super-admin')).toBe(true)
    expect(auth.can('viewer')).toBe(false)
    expect(sessionStorage.getItem(REFRESH_KEY)).toBeNull()
    vi.advanceTimersByTime(599_999)
    expect(auth.signedIn).toBe(true)
    vi.advanceTimersByTime(1)
    expect(auth.signedIn).toBe(false)
    expect(auth.notice).toMatch(/sign in again/)
  })

  it('says 429 with its Retry-After', async () => {
    mockFetch(() => ({ status: 429, body: { error: 'too_many_requests', message: 'wait' }, headers: { 'Retry-After': '125' } }))
    const auth = useAuth()
    const e = (await auth.login('home', 'alice', 'x').catch((x: unknown) => x)) as ApiError
    expect(e).toBeInstanceOf(ApiError)
    expect(e.status).toBe(429)
    expect(e.retryAfter).toBe(125)
    expect(auth.signedIn).toBe(false)
  })

  it('ranks roles', async () => {
    mockFetch(() => ({ status: 200, body: tokenResponse(1) }))
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw')
    expect([auth.can('viewer'), auth.can('operator'), auth.can('admin'), auth.can('super-admin')]).toEqual([true, true, false, false])
  })
})

describe('refresh', () => {
  it('refreshes a minute before the access token expires, with the stored refresh token', async () => {
    vi.useFakeTimers()
    let n = 0
    const calls = mockFetch(() => ({ status: 200, body: tokenResponse(++n) }))
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw')
    vi.advanceTimersByTime(839_999)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(2)
    expect(calls[1]).toMatchObject({ method: 'POST', url: '/api/v1/auth/refresh', body: { refresh_token: tokenResponse(1).refresh_token } })
    expect(auth.accessToken).toBe('access-2')
    expect(sessionStorage.getItem(REFRESH_KEY)).toBe(tokenResponse(2).refresh_token)
  })

  it('makes one refresh for callers at once (a refresh token is good once)', async () => {
    let n = 0
    const calls = mockFetch((c) => ({ status: 200, body: tokenResponse(c.url.endsWith('/login') ? 1 : ++n + 1) }))
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw')
    const [a, b, c] = await Promise.all([auth.refresh(), auth.refresh(), auth.refresh()])
    expect([a, b, c]).toEqual(['access-2', 'access-2', 'access-2'])
    expect(calls.filter((x) => x.url.endsWith('/refresh'))).toHaveLength(1)
  })

  it('tries a request answered 401 once more with a fresh token', async () => {
    let refreshed = false
    const calls = mockFetch((c) => {
      if (c.url.endsWith('/login')) return { status: 200, body: tokenResponse(1) }
      if (c.url.endsWith('/refresh')) {
        refreshed = true
        return { status: 200, body: tokenResponse(2) }
      }
      return c.auth === 'Bearer access-2' ? { status: 200, body: [] } : { status: 401, body: { error: 'unauthorized', message: 'the token expired' } }
    })
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw')
    await expect(api.get('/bms')).resolves.toEqual([])
    expect(refreshed).toBe(true)
    expect(calls.map((c) => `${c.method} ${c.url} ${c.auth}`)).toEqual([
      'POST /api/v1/auth/login null',
      'GET /api/v1/bms Bearer access-1',
      'POST /api/v1/auth/refresh null',
      'GET /api/v1/bms Bearer access-2',
    ])
  })

  it('does not loop: a second 401 is the answer', async () => {
    const calls = mockFetch((c) => {
      if (c.url.endsWith('/login')) return { status: 200, body: tokenResponse(1) }
      if (c.url.endsWith('/refresh')) return { status: 200, body: tokenResponse(2) }
      return { status: 401, body: { error: 'unauthorized', message: 'no' } }
    })
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw')
    const e = (await api.get('/bms').catch((x: unknown) => x)) as ApiError
    expect(e.status).toBe(401)
    expect(calls).toHaveLength(4)
  })

  it('ends the session when the refresh token is refused', async () => {
    mockFetch((c) =>
      c.url.endsWith('/login') ? { status: 200, body: tokenResponse(1) } : { status: 401, body: { error: 'unauthorized', message: 'used before' } })
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw')
    expect(await auth.refresh()).toBeNull()
    expect(auth.signedIn).toBe(false)
    expect(auth.accessToken).toBeNull()
    expect(sessionStorage.getItem(REFRESH_KEY)).toBeNull()
    expect(auth.notice).toBe('Your session has ended: please sign in again.')
  })

  it('keeps the session when the network fails, and tries again in 15 s', async () => {
    vi.useFakeTimers()
    let down = true
    const fetchFn = vi.fn(async (url: string) => {
      if (url.endsWith('/login')) return new Response(JSON.stringify(tokenResponse(1)), { status: 200 })
      if (down) throw new TypeError('network')
      return new Response(JSON.stringify(tokenResponse(2)), { status: 200 })
    })
    vi.stubGlobal('fetch', fetchFn)
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw')
    expect(await auth.refresh()).toBeNull()
    expect(auth.accessToken).toBe('access-1')
    down = false
    await vi.advanceTimersByTimeAsync(15_000)
    expect(auth.accessToken).toBe('access-2')
  })

  it('signs in again at start from the tab\'s refresh token', async () => {
    sessionStorage.setItem(REFRESH_KEY, 'home.' + 'a'.repeat(64))
    const calls = mockFetch(() => ({ status: 200, body: tokenResponse(5) }))
    const auth = useAuth()
    await auth.restore()
    expect(calls[0].body).toEqual({ refresh_token: 'home.' + 'a'.repeat(64) })
    expect(auth.ready).toBe(true)
    expect(auth.accessToken).toBe('access-5')
  })
})

describe('sign-out', () => {
  it('ends the refresh token\'s family and forgets everything', async () => {
    const calls = mockFetch((c) => (c.url.endsWith('/login') ? { status: 200, body: tokenResponse(1) } : { status: 204 }))
    const auth = useAuth()
    await auth.login('home', 'alice', 'pw')
    await auth.logout()
    expect(calls[1]).toEqual({ method: 'POST', url: '/api/v1/auth/logout', auth: null, body: { refresh_token: tokenResponse(1).refresh_token } })
    expect(auth.signedIn).toBe(false)
    expect(sessionStorage.getItem(REFRESH_KEY)).toBeNull()
    expect(auth.notice).toBe('')
  })
})
