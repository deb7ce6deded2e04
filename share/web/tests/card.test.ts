import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { createRouter, createMemoryHistory } from 'vue-router'
import BatteryCard from '@/components/BatteryCard.vue'
import { cardModel, filterCards, sortCards } from '@/lib/card'
import type { BMSConnection, BMSRealtimeData, LinkStatus } from '@/api/types'

const NOW = Date.parse('2026-12-07T10:00:00.000Z')
const conn: BMSConnection = {
  id: 'uuid-house', bms_id: 'house', name: 'House bank', bms_type: 'daly_bms',
  connection_config: { protocol: 'uart', device_path: '/dev/ttyUSB0' },
  status: 'connected', last_data_received: '2026-12-07T09:59:58.000Z', connection_quality: 100, created_at: '2026-12-01T00:00:00.000Z',
}
const reading: BMSRealtimeData = {
  bms_id: 'house', timestamp: '2026-12-07T09:59:53.000Z', pack_voltage: 53.2, pack_current: -40, pack_power: -2128,
  soc_percent: 76.4, temperatures: [28, 26], cell_voltages: [3.325, 3.328, 3.32, 3.339], quality: 'good',
}
const ok: LinkStatus = { bms_id: 'house', timestamp: '2026-12-07T09:00:00.000Z', state: 'connected', reason: 'ok', quality: 100 }

describe('card model', () => {
  it('says nothing is known of a battery registered and never read, not that it is lost', () => {
    const fresh: BMSConnection = { ...conn, status: 'disconnected', last_data_received: null }
    const m = cardModel(fresh, 'house', undefined, undefined, NOW, 30_000, 0)
    expect(m.condition).toBe('unknown')
    // Once it was read, the connection's state stands for the link.
    const read = cardModel({ ...fresh, last_data_received: '2026-12-07T09:59:58.000Z' }, 'house',
      undefined, undefined, NOW, 30_000, 0)
    expect(read.condition).toBe('lost')
  })

  it('says what a discharging battery does', () => {
    const m = cardModel(conn, 'house', reading, ok, NOW, 30_000, 2)
    expect(m).toMatchObject({
      title: 'House bank', subtitle: 'house', socText: '76.4 %', voltageText: '53.20 V', currentText: '-40.0 A',
      powerText: '-2.13 kW', flow: 'discharging', flowText: 'Discharging', spreadMv: 19, spreadText: '19 mV',
      warmestText: '28.0 °C (probe 1)', condition: 'connected', ageMs: 7000, ageText: '7 s ago', stale: false, openAlerts: 2,
    })
  })

  it('works out power from voltage and current when the BMS gives none, and calls small currents idle', () => {
    const m = cardModel(conn, 'house', { ...reading, pack_power: undefined, pack_current: 0.1 }, ok, NOW, 30_000, 0)
    expect(m.powerText).toBe('5 W')
    expect(m.flow).toBe('idle')
  })

  it('marks an old reading stale and its connected link lost', () => {
    const m = cardModel(conn, 'house', { ...reading, timestamp: '2026-12-07T09:58:00.000Z' }, ok, NOW, 30_000, 0)
    expect(m.ageText).toBe('2 min 00 s ago')
    expect(m.stale).toBe(true)
    expect(m.condition).toBe('lost')
    expect(m.conditionDetail).toBe('No reading for 2 min 00 s')
  })

  it('tells an asleep BMS by its status', () => {
    const asleep: LinkStatus = { ...ok, state: 'error', reason: 'asleep', message: "board 1 on '/dev/ttyUSB0' is asleep" }
    const m = cardModel(conn, 'house', reading, asleep, NOW, 30_000, 0)
    expect(m.condition).toBe('asleep')
    expect(m.conditionText).toBe('Asleep')
    expect(m.conditionDetail).toBe("board 1 on '/dev/ttyUSB0' is asleep")
  })

  it('has dashes and no age without a reading', () => {
    const m = cardModel({ ...conn, last_data_received: null }, 'house', undefined, undefined, NOW, 30_000, 0)
    expect([m.socText, m.voltageText, m.spreadText, m.warmestText, m.ageText, m.flow]).toEqual(['—', '—', '—', '—', 'no reading yet', 'unknown'])
    expect(m.stale).toBe(true)
  })

  it('sorts and filters a fleet', () => {
    const a = cardModel(conn, 'house', reading, ok, NOW, 30_000, 0)
    const b = cardModel({ ...conn, bms_id: 'shed', name: null }, 'shed', { ...reading, bms_id: 'shed', soc_percent: 20, cell_voltages: [3.3, 3.4], pack_current: 5 }, ok, NOW, 30_000, 3)
    const c = cardModel({ ...conn, bms_id: 'van', name: null }, 'van', undefined, { ...ok, state: 'disconnected', reason: 'device_gone' }, NOW, 30_000, 0)
    expect(sortCards([a, b, c], 'name').map((x) => x.bmsId)).toEqual(['house', 'shed', 'van'])
    expect(sortCards([a, b, c], 'soc').map((x) => x.bmsId)).toEqual(['shed', 'house', 'van'])
    expect(sortCards([a, b, c], 'spread').map((x) => x.bmsId)).toEqual(['shed', 'house', 'van'])
    expect(sortCards([a, b, c], 'alerts').map((x) => x.bmsId)).toEqual(['shed', 'house', 'van'])
    expect(sortCards([a, b, c], 'status').map((x) => x.bmsId)).toEqual(['van', 'shed', 'house'])
    const none = { text: '', condition: '' as const, flow: '' as const, alertsOnly: false }
    expect(filterCards([a, b, c], { ...none, text: 'BANK' }).map((x) => x.bmsId)).toEqual(['house'])
    expect(filterCards([a, b, c], { ...none, flow: 'charging' }).map((x) => x.bmsId)).toEqual(['shed'])
    expect(filterCards([a, b, c], { ...none, condition: 'lost' }).map((x) => x.bmsId)).toEqual(['van'])
    expect(filterCards([a, b, c], { ...none, alertsOnly: true }).map((x) => x.bmsId)).toEqual(['shed'])
  })
})

describe('BatteryCard', () => {
  it('shows the figures under their test ids', async () => {
    const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { template: '<div/>' } }] })
    const w = mount(BatteryCard, { props: { card: cardModel(conn, 'house', reading, ok, NOW, 30_000, 2) }, global: { plugins: [router] } })
    const t = (id: string) => w.get(`[data-testid=${id}]`).text()
    expect(w.get('[data-testid=battery-card]').attributes('data-bms-id')).toBe('house')
    expect(t('card-soc')).toBe('76.4 %')
    expect(t('card-voltage')).toBe('53.20 V')
    expect(t('card-current')).toBe('-40.0 A')
    expect(t('card-power')).toBe('-2.13 kW')
    expect(t('card-flow')).toBe('Discharging')
    expect(w.get('[data-testid=card-flow]').attributes('data-flow')).toBe('discharging')
    expect(t('card-spread')).toBe('19 mV')
    expect(t('card-temp')).toBe('28.0 °C (probe 1)')
    expect(t('card-age')).toBe('7 s ago')
    expect(w.get('[data-testid=card-age]').attributes('data-stale')).toBe('false')
    expect(w.get('[data-testid=card-status]').attributes('data-condition')).toBe('connected')
    expect(w.get('[data-testid=card-alerts]').attributes('data-count')).toBe('2')
    expect(w.get('[data-testid=card-link]').attributes('href')).toBe('/battery/house')
  })
})
