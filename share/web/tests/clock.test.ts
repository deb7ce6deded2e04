import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useClock } from '@/stores/clock'
import { mockFetch } from './helpers'

beforeEach(() => {
  setActivePinia(createPinia())
  vi.useFakeTimers()
  vi.setSystemTime(Date.parse('2026-12-07T10:00:00.000Z'))
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('clock', () => {
  it('runs on the server\'s time', async () => {
    mockFetch(() => ({ status: 200, body: { status: 'healthy', timestamp: '2026-12-07T10:05:00.000Z', version: '0.1.0', connected_devices: 1 } }))
    const c = useClock()
    await c.sync()
    expect(c.offset).toBe(300_000)
    expect(c.now).toBe(Date.parse('2026-12-07T10:05:00.000Z'))
  })

  it('leaves a small difference alone', async () => {
    mockFetch(() => ({ status: 200, body: { status: 'healthy', timestamp: '2026-12-07T10:00:01.000Z', version: '0.1.0', connected_devices: 1 } }))
    const c = useClock()
    await c.sync()
    expect(c.offset).toBe(0)
  })

  it('ticks while held, and stops when the last holder lets go', () => {
    const c = useClock()
    const a = c.hold()
    const b = c.hold()
    vi.advanceTimersByTime(3000)
    expect(c.now).toBe(Date.parse('2026-12-07T10:00:03.000Z'))
    a()
    a()
    expect(vi.getTimerCount()).toBe(1)
    b()
    expect(vi.getTimerCount()).toBe(0)
  })
})
