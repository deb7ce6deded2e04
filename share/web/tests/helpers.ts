import { vi } from 'vitest'

export interface Call {
  method: string
  url: string
  body: unknown
  auth: string | null
}

type Handler = (c: Call) => { status: number; body?: unknown; headers?: Record<string, string> }

/** fetch answered by handler, every call kept. */
export function mockFetch(handler: Handler): Call[] {
  const calls: Call[] = []
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const headers = (init.headers ?? {}) as Record<string, string>
    const c: Call = {
      method: init.method ?? 'GET',
      url,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
      auth: headers.Authorization ?? null,
    }
    calls.push(c)
    const r = handler(c)
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), {
      status: r.status,
      headers: { 'Content-Type': 'application/json', ...(r.headers ?? {}) },
    })
  }))
  return calls
}

export function tokenResponse(n: number, over: Record<string, unknown> = {}) {
  return {
    access_token: `access-${n}`,
    token_type: 'Bearer',
    expires_in: 900,
    refresh_token: `home.${String(n).padStart(64, '0')}`,
    user: { name: 'alice', tenant: 'home', role: 'operator' },
    ...over,
  }
}

/** Let pending promise callbacks run. */
export async function flush(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve()
  await new Promise((r) => setTimeout(r, 0))
}
