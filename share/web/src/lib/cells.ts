// The cell chart's bars: which cell is highest, which lowest, which are
// balancing, and how each is drawn and named.

import { cellExtremes } from './format'

export type CellKind = 'high' | 'low' | 'normal'

export interface CellBar {
  /** 1-based */
  cell: number
  volts: number
  kind: CellKind
  balancing: boolean
  label: string
}

/** One bar per cell.  The first highest and first lowest cell are
 * marked, unless every cell reads the same (then no cell is). */
export function cellBars(cells: readonly number[] | undefined, balancing: readonly number[] | undefined = []): CellBar[] {
  const ext = cellExtremes(cells)
  if (!cells || !ext) return []
  const bal = new Set(balancing ?? [])
  const marked = ext.max > ext.min
  return cells.map((v, i) => {
    const kind: CellKind = marked && i === ext.maxIndex ? 'high' : marked && i === ext.minIndex ? 'low' : 'normal'
    const b = bal.has(i + 1)
    const parts = [`Cell ${i + 1}: ${v.toFixed(3)} V`]
    if (kind === 'high') parts.push('highest')
    if (kind === 'low') parts.push('lowest')
    if (b) parts.push('balancing')
    return { cell: i + 1, volts: v, kind, balancing: b, label: parts.join(', ') }
  })
}

/** The y axis: the cells' range with a margin of a quarter of it, at
 * least 10 mV either side, so millivolt differences can be seen. */
export function cellAxis(cells: readonly number[]): { min: number; max: number } {
  const ext = cellExtremes(cells)
  if (!ext) return { min: 0, max: 4 }
  const pad = Math.max(0.01, (ext.max - ext.min) / 4)
  return { min: Math.floor((ext.min - pad) * 1000) / 1000, max: Math.ceil((ext.max + pad) * 1000) / 1000 }
}

/** One sentence for a screen reader. */
export function cellSummary(bars: readonly CellBar[]): string {
  if (bars.length === 0) return 'No cell voltages.'
  const hi = bars.find((b) => b.kind === 'high')
  const lo = bars.find((b) => b.kind === 'low')
  const bal = bars.filter((b) => b.balancing).map((b) => b.cell)
  const s = [`${bars.length} cells.`]
  if (hi && lo) {
    s.push(`Highest: cell ${hi.cell} at ${hi.volts.toFixed(3)} V. Lowest: cell ${lo.cell} at ${lo.volts.toFixed(3)} V.`)
    s.push(`Spread ${Math.round((hi.volts - lo.volts) * 1000)} mV.`)
  } else {
    s.push(`All at ${bars[0].volts.toFixed(3)} V.`)
  }
  s.push(bal.length ? `Balancing: cell${bal.length === 1 ? '' : 's'} ${bal.join(', ')}.` : 'No cell balancing.')
  return s.join(' ')
}
