import { describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { cellAxis, cellBars, cellSummary } from '@/lib/cells'
import CellChart from '@/components/CellChart.vue'

// Chart.js draws on a canvas the test DOM does not have: a stand-in
// keeps what it was given.
const made: { data: { labels: string[]; datasets: { data: number[]; backgroundColor: string[]; borderWidth: number[] }[] } }[] = []
vi.mock('@/lib/chart', async (orig) => {
  const real = await orig<typeof import('@/lib/chart')>()
  class FakeChart {
    data: unknown
    options: unknown
    destroyed = false
    constructor(_el: unknown, cfg: { data: unknown; options: unknown }) {
      this.data = cfg.data
      this.options = cfg.options
      made.push(this as never)
    }
    update() {}
    destroy() {
      this.destroyed = true
    }
  }
  return { ...real, Chart: FakeChart }
})

const CELLS = [3.325, 3.328, 3.323, 3.33, 3.322, 3.327, 3.334, 3.331]

describe('cellBars', () => {
  it('marks the highest and the lowest cell and the balancing ones', () => {
    const bars = cellBars(CELLS, [7, 4])
    expect(bars.map((b) => b.kind)).toEqual(['normal', 'normal', 'normal', 'normal', 'low', 'normal', 'high', 'normal'])
    expect(bars.filter((b) => b.balancing).map((b) => b.cell)).toEqual([4, 7])
    expect(bars[6].label).toBe('Cell 7: 3.334 V, highest, balancing')
    expect(bars[4].label).toBe('Cell 5: 3.322 V, lowest')
  })

  it('marks nothing when every cell reads the same', () => {
    expect(cellBars([3.3, 3.3, 3.3]).map((b) => b.kind)).toEqual(['normal', 'normal', 'normal'])
    expect(cellSummary(cellBars([3.3, 3.3]))).toBe('2 cells. All at 3.300 V. No cell balancing.')
  })

  it('sums the pack up for a screen reader', () => {
    expect(cellSummary(cellBars(CELLS, [7]))).toBe(
      '8 cells. Highest: cell 7 at 3.334 V. Lowest: cell 5 at 3.322 V. Spread 12 mV. Balancing: cell 7.',
    )
  })

  it('scales the axis to the cells with a margin', () => {
    expect(cellAxis(CELLS)).toEqual({ min: 3.312, max: 3.344 })
    expect(cellAxis([3.0, 3.4])).toEqual({ min: 2.9, max: 3.5 })
  })
})

describe('CellChart', () => {
  it('draws the marks and says them, and destroys its chart', () => {
    setActivePinia(createPinia())
    const w = mount(CellChart, { props: { cells: CELLS, balancing: [7] } })
    const el = w.get('[data-testid=cell-chart]')
    expect(el.attributes('data-high-cell')).toBe('7')
    expect(el.attributes('data-low-cell')).toBe('5')
    expect(el.attributes('data-balancing')).toBe('7')
    expect(w.get('[data-testid=cell-high]').text()).toBe('Highest: cell 7, 3.334 V')
    expect(w.get('[data-testid=cell-low]').text()).toBe('Lowest: cell 5, 3.322 V')
    expect(w.get('[data-testid=cell-balancing]').text()).toBe('Balancing: 7')
    expect(w.get('canvas').attributes('aria-label')).toContain('Highest: cell 7 at 3.334 V.')
    const ch = made[made.length - 1]
    expect(ch.data.labels).toEqual(['1', '2', '3', '4', '5', '6', '7 ⇄', '8'])
    expect(ch.data.datasets[0].data).toEqual(CELLS)
    expect(ch.data.datasets[0].borderWidth).toEqual([1, 1, 1, 1, 1, 1, 3, 1])
    w.unmount()
    expect((ch as unknown as { destroyed: boolean }).destroyed).toBe(true)
  })
})
