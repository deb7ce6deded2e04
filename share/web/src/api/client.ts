// Requests to bms-serve's API, same origin, under /api/v1.  A request
// that wants a token gets the auth store's, and one answered 401 is tried
// once more after a refresh (which is shared: a refresh token is good
// once, so two refreshes at once would end the session).

import type { ApiErrorBody } from './types'

export const API = '/api/v1'

export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached */
  status: number
  /** the API's error word (bad_request, unauthorized, ...) */
  code: string
  /** details.field: the request member at fault */
  field?: string
  /** s to wait, from Retry-After */
  retryAfter?: number
  body?: unknown

  constructor(status: number, code: string, message: string, field?: string, retryAfter?: number, body?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field
    this.retryAfter = retryAfter
    this.body = body
  }
}

/** What the client asks of whoever holds the tokens (the auth store). */
export interface TokenSource {
  /** the access token, refreshed first when it is about to expire */
  token(): Promise<string | null>
  /** a new access token after a 401; null when the session is over */
  refreshAfter401(sent: string | null): Promise<string | null>
}

let source: TokenSource | null = null

export function setTokenSource(s: TokenSource | null): void {
  source = s
}

export interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | boolean | undefined | null>
  /** send the access token (default true) */
  auth?: boolean
  signal?: AbortSignal
}

export function buildQuery(q: RequestOptions['query']): string {
  if (!q) return ''
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  const s = p.toString()
  return s ? `?${s}` : ''
}

const statusWords: Record<number, string> = {
  400: 'The request was refused.',
  401: 'Please sign in again.',
  403: 'Your role does not allow this.',
  404: 'Not found.',
  409: 'That conflicts with what is stored.',
  413: 'The request is too large.',
  429: 'Too many tries: wait a moment.',
  503: 'The server cannot read its store just now.',
}

async function toError(res: Response): Promise<ApiError> {
  let body: unknown
  try {
    body = await res.json()
  } catch {
    body = undefined
  }
  const b = (body ?? {}) as Partial<ApiErrorBody>
  const ra = res.headers.get('Retry-After')
  const retry = ra !== null && /^\d+$/.test(ra) ? Number(ra) : undefined
  return new ApiError(
    res.status,
    typeof b.error === 'string' ? b.error : `http_${res.status}`,
    typeof b.message === 'string' ? b.message : statusWords[res.status] ?? `The server answered ${res.status}.`,
    b.details?.field,
    retry,
    body,
  )
}

async function send(method: string, path: string, o: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (o.body !== undefined) headers['Content-Type'] = 'application/json'
  if (token) headers.Authorization = `Bearer ${token}`
  try {
    return await fetch(API + path + buildQuery(o.query), {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: o.signal,
      credentials: 'same-origin',
      cache: 'no-store',
    })
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e
    throw new ApiError(0, 'network', 'The server cannot be reached: check the connection.')
  }
}

/** One request; the parsed JSON answer (undefined for 204), or an
 * ApiError. */
export async function request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
  const auth = o.auth !== false && source !== null
  const sent = auth ? await source!.token() : null
  let res = await send(method, path, o, sent)
  if (res.status === 401 && auth && sent !== null) {
    const fresh = await source!.refreshAfter401(sent)
    if (fresh) res = await send(method, path, o, fresh)
  }
  if (!res.ok) throw await toError(res)
  if (res.status === 204) return undefined as T
  const text = await res.text()
  return (text ? JSON.parse(text) : undefined) as T
}

export const api = {
  get: <T>(path: string, o?: RequestOptions) => request<T>('GET', path, o),
  post: <T>(path: string, body?: unknown, o?: RequestOptions) => request<T>('POST', path, { ...o, body }),
  patch: <T>(path: string, body?: unknown, o?: RequestOptions) => request<T>('PATCH', path, { ...o, body }),
  del: <T>(path: string, o?: RequestOptions) => request<T>('DELETE', path, o),
}

export const enc = encodeURIComponent
