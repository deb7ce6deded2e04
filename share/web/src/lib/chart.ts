// Chart.js with only the parts the dashboard draws (tree-shaken), and
// its colours from the theme.

import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController,
  LineElement, PointElement, Tooltip,
} from 'chart.js'
import { cssVar } from '@/stores/theme'

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip)

export function themeColors() {
  return {
    fg: cssVar('--fg') || '#e8eef8',
    muted: cssVar('--fg-muted') || '#a3b3c9',
    grid: cssVar('--grid') || 'rgba(255,255,255,0.08)',
    cell: cssVar('--cell') || '#60a5fa',
    high: cssVar('--cell-high') || '#f87171',
    low: cssVar('--cell-low') || '#c084fc',
    balance: cssVar('--balance') || '#fbbf24',
    accent: cssVar('--accent') || '#34d399',
    charge: cssVar('--charge') || '#34d399',
    discharge: cssVar('--discharge') || '#fbbf24',
    info: cssVar('--info') || '#60a5fa',
    danger: cssVar('--danger') || '#f87171',
    warn: cssVar('--warn') || '#fbbf24',
    panel: cssVar('--panel-solid') || '#0f1626',
  }
}

export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color)
  if (!m) return color
  const n = parseInt(m[1], 16)
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`
}

/** Run fn at most once per frame and at most every minMs. */
export function throttled(fn: () => void, minMs: number): { request: () => void; cancel: () => void } {
  let last = 0
  let raf: number | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  const run = () => {
    raf = null
    last = performance.now()
    fn()
  }
  return {
    request() {
      if (raf !== null || timer !== null) return
      const wait = minMs - (performance.now() - last)
      if (wait > 0) {
        timer = setTimeout(() => {
          timer = null
          raf = requestAnimationFrame(run)
        }, wait)
      } else {
        raf = requestAnimationFrame(run)
      }
    },
    cancel() {
      if (raf !== null) cancelAnimationFrame(raf)
      if (timer !== null) clearTimeout(timer)
      raf = null
      timer = null
    },
  }
}

export { Chart }
