#!/usr/bin/env node
// The dashboard end to end: the real pages in the system's Chromium
// (headless) against a running bms-serve over a store that the pipeline
// and bms-store write.  One line per check; the first failure says what
// was expected and what the page showed, saves a screenshot of it and
// ends the run with status 1.
//
//   (cd tests/e2e && npm ci)
//   node tests/e2e/dashboard.mjs --url http://127.0.0.1:8080 --store DIR \
//       --admin ada:PW --operator oscar:PW --viewer vera:PW [--only NAME,...]
//
// tests/95-dashboard.bats sets everything up and runs it.
//
// The tenant (--tenant, default home) has the battery --battery (default
// house), read from bms-sim (charging, at its default current) through
// the whole pipeline, with at least one alert open and not acknowledged;
// the other tenant (--other-tenant, default shed) has --other-battery
// (default barn), which the first tenant must never see.  Screenshots of
// the main pages at phone and desktop sizes, and of a failure, go to
// --shots (default build/screenshots).

import { mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  Checks, DESKTOP, PHONE, ROOT, account, apiToken, bmsStore, cardSel, expectAttr, expectCount, expectText, launch,
  newPage, options, pngStats, query, signIn, store, text, tid, until,
} from './lib.mjs'

const SCENARIOS = ['signin', 'live', 'detail', 'ack', 'register', 'viewer', 'tenants', 'screenshots']

const USAGE = `usage: node dashboard.mjs --url URL --store DIR --admin USER:PW --operator USER:PW --viewer USER:PW
       [--tenant home] [--battery house] [--other-tenant shed] [--other-battery barn]
       [--bms-store bms-store] [--shots DIR] [--chromium /usr/bin/chromium] [--only ${SCENARIOS.join(',')}]`

const o = options(process.argv.slice(2), {
  url: undefined,
  store: undefined,
  admin: undefined,
  operator: undefined,
  viewer: undefined,
  tenant: 'home',
  battery: 'house',
  'other-tenant': 'shed',
  'other-battery': 'barn',
  'bms-store': 'bms-store',
  shots: join(ROOT, 'build/screenshots'),
  chromium: '/usr/bin/chromium',
  only: SCENARIOS.join(','),
}, USAGE)

const url = o.url.replace(/\/+$/, '')
const tenant = o.tenant
const bat = o.battery
const other = o['other-battery']
const admin = account(o.admin, 'admin')
const operator = account(o.operator, 'operator')
const viewer = account(o.viewer, 'viewer')
const only = o.only.split(',').filter(Boolean)
for (const s of only) {
  if (!SCENARIOS.includes(s)) {
    process.stderr.write(`--only: no scenario ${s} (${SCENARIOS.join(', ')})\n`)
    process.exit(2)
  }
}

const c = new Checks(o.shots, only.length === 1 ? only[0] : 'dashboard')
const browser = await launch(o.chromium)
c.browser = browser

/** A fresh page (its own session), the one a failure is shown of. */
async function fresh(viewport = DESKTOP) {
  if (c.page) await c.page.context().close().catch(() => {})
  c.page = await newPage(browser, viewport)
  return c.page
}

async function signedIn(who, viewport = DESKTOP) {
  const page = await fresh(viewport)
  await signIn(page, url, tenant, who)
  return page
}

const path = (page) => new URL(page.url()).pathname
const card = cardSel(bat)
const fmt2 = (v) => (typeof v === 'number' ? `${v.toFixed(2)} V` : '—')
const fmt1 = (v) => (typeof v === 'number' ? `${v.toFixed(1)} %` : '—')

/** The newest readings of a battery in the store, newest first. */
async function recentReadings(bmsId, n = 20) {
  const rs = await query(o, tenant, ['--type', 'readings', '--battery', bmsId, '--tier', 'raw', '--since', '-10m'])
  return rs.slice(-n).reverse()
}

/** Watch the page for a card showing want (each testid's text) and keep
 * the time it first did, in window.__seen[key]. */
async function watchCard(page, key, bmsId, want) {
  await page.evaluate(({ key, sel, want }) => {
    window.__seen = window.__seen ?? {}
    window.__seen[key] = 0
    const look = () => {
      if (window.__seen[key]) return
      const el = document.querySelector(sel)
      if (!el) return
      for (const [id, t] of Object.entries(want)) {
        const x = el.querySelector(`[data-testid="${id}"]`)
        if (!x || x.textContent.trim() !== t) return
      }
      window.__seen[key] = Date.now()
    }
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true })
    look()
  }, { key, sel: cardSel(bmsId), want })
}

/** When the watched card first showed its values (ms since the epoch),
 * or 0 if it did not within timeout ms. */
async function seenAt(page, key, timeout) {
  const h = await page.waitForFunction((k) => window.__seen[k], key, { timeout, polling: 10 }).catch(() => null)
  return h ? h.jsonValue() : 0
}

async function cardNow(page, bmsId) {
  return page.$eval(cardSel(bmsId), (el) => {
    const t = (id) => el.querySelector(`[data-testid="${id}"]`)?.textContent.replace(/\s+/g, ' ').trim() ?? null
    const a = (id, name) => el.querySelector(`[data-testid="${id}"]`)?.getAttribute(name) ?? null
    return {
      voltage: t('card-voltage'), soc: t('card-soc'), current: t('card-current'), age: t('card-age'),
      flow: a('card-flow', 'data-flow'), condition: a('card-status', 'data-condition'),
      alerts: a('card-alerts', 'data-count'), title: t('card-link'),
    }
  })
}

/* ==== 1. Signing in ==== */

async function signin() {
  const page = await fresh()
  await c.check('a visitor is sent to the sign-in page', async () => {
    await page.goto(`${url}/`)
    await until('the sign-in form at /sign-in', async () => ({
      ok: path(page) === '/sign-in' && (await page.locator(tid('signin-form')).count()) > 0,
      seen: page.url(),
    }))
  })
  await c.check('a wrong password is refused with the sign-in error', async () => {
    await page.fill(tid('signin-tenant'), tenant)
    await page.fill(tid('signin-username'), admin.user)
    await page.fill(tid('signin-password'), `${admin.password}-wrong`)
    await page.click(tid('signin-submit'))
    await expectText(page, tid('signin-error'), 'Wrong tenant, user name or password.')
    if (path(page) !== '/sign-in') throw new Error(`expected to stay on /sign-in; the page went to ${page.url()}`)
    const pw = await page.inputValue(tid('signin-password'))
    if (pw !== '') throw new Error(`expected the password field emptied after the refusal; it holds ${pw.length} characters`)
  })
  await c.check(`the admin ${admin.user} signs in: the fleet, and the header says who`, async () => {
    await page.fill(tid('signin-password'), admin.password)
    await page.click(tid('signin-submit'))
    await page.locator(tid('fleet')).waitFor()
    if (path(page) !== '/') throw new Error(`expected the fleet at /; the page is at ${page.url()}`)
    await expectText(page, tid('header-user-name'), admin.user)
    await expectText(page, tid('header-user-role'), `admin · ${tenant}`)
    await expectCount(page, tid('signin-error'), 0)
  })
  await c.check(`${bat}'s card shows the SOC and voltage of a reading in the store, charging and connected`, async () => {
    await page.locator(card).waitFor()
    const shown = await until(`${card} with a voltage and a SOC`, async () => {
      const n = await cardNow(page, bat)
      return { ok: /^\d+\.\d\d V$/.test(n.voltage) && /^\d+\.\d %$/.test(n.soc), seen: JSON.stringify(n), value: n }
    })
    const rs = await recentReadings(bat, 60)
    const stored = rs.map((r) => `${fmt2(r.pack_voltage)} and ${fmt1(r.soc_percent)}`)
    if (!stored.includes(`${shown.voltage} and ${shown.soc}`))
      throw new Error(`expected the card's ${shown.voltage} and ${shown.soc} to be a reading's in the store; the newest stored: ${stored.slice(0, 5).join('; ')}`)
    if (shown.flow !== 'charging' || !/^\d+\.\d A$/.test(shown.current) || shown.current.startsWith('0.'))
      throw new Error(`expected the card to say charging at the simulator's current; it says ${shown.flow} at ${shown.current}`)
    if (shown.condition !== 'connected') throw new Error(`expected the link connected; the card says ${shown.condition}`)
    return `${shown.voltage}, ${shown.soc}, ${shown.current}, ${shown.age}`
  })
}

/* ==== 2. A stored reading on the card within 2 s ==== */

async function live() {
  const page = await signedIn(admin)
  await c.check('the live connection is open', () => expectAttr(page, tid('live-indicator'), 'data-state', 'open'))
  await c.check(`a reading stored with bms-store (51.234 V, 42.4 %) is on ${bat}'s card within 2 s`, async () => {
    await page.locator(card).waitFor()
    const want = { 'card-voltage': '51.23 V', 'card-soc': '42.4 %' }
    const before = await cardNow(page, bat)
    if (before.voltage === want['card-voltage'])
      throw new Error(`the card shows ${before.voltage} before anything was stored: pick another value`)
    await watchCard(page, 'live', bat, want)
    // Stamped a second ahead: the pipeline stores a reading of this
    // battery every second, and the page keeps the newest by timestamp.
    const exitAt = await store(o, tenant, [{
      type: 'reading', bms_id: bat, timestamp: new Date(Date.now() + 1000).toISOString(),
      pack_voltage: 51.234, pack_current: -3.5, soc_percent: 42.4,
    }])
    const at = await seenAt(page, 'live', 5000)
    if (!at) {
      const n = await cardNow(page, bat)
      throw new Error(`expected 51.23 V and 42.4 % on the card within 2 s of bms-store returning; 5 s after, it shows ${n.voltage} and ${n.soc}`)
    }
    const ms = at - exitAt
    if (ms > 2000) throw new Error(`expected the reading on the card within 2000 ms of bms-store returning; it took ${ms} ms`)
    return `${Math.max(0, ms)} ms after bms-store returned`
  })
}

/* ==== 3. The battery's page ==== */

/** A history chart drawn with its points (it redraws at most once a
 * second): its canvas's label says what it shows once it has. */
async function historyDrawn(page, id) {
  const sel = `${tid(id)} canvas`
  return until(`${id}'s chart drawn with data`, async () => {
    const label = await page.getAttribute(sel, 'aria-label')
    const n = await drawn(page, sel)
    return { ok: / over the range shown: (?!no data)/.test(label ?? '') && n > 500, seen: `${JSON.stringify(label)}, ${n} pixels drawn` }
  })
}

/** Pixels a canvas has drawn (alpha not 0). */
function drawn(page, sel) {
  return page.$eval(sel, (cv) => {
    const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data
    let n = 0
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++
    return n
  })
}

async function detail() {
  const page = await signedIn(admin)
  let title = ''
  await c.check(`${bat}'s card leads to its page`, async () => {
    await page.locator(card).waitFor()
    title = await text(page, `${card} ${tid('card-link')}`)
    await page.click(`${card} ${tid('card-link')}`)
    await expectAttr(page, tid('battery-detail'), 'data-bms-id', bat)
    if (path(page) !== `/battery/${bat}`) throw new Error(`expected /battery/${bat}; the page is at ${page.url()}`)
    await expectText(page, tid('detail-title'), title)
    await expectText(page, tid('detail-voltage'), /^\d+\.\d\d V$/)
    await expectCount(page, tid('detail-not-found'), 0)
  })
  await c.check('the cells: the chart drawn, one row a cell, the lowest cell marked as in the store', async () => {
    await page.locator(`${tid('cell-chart')} canvas`).waitFor()
    const rs = await recentReadings(bat, 10)
    const cells = rs.find((r) => r.cell_voltages?.length)?.cell_voltages
    if (!cells) throw new Error(`no reading of ${bat} with cells in the store`)
    await expectCount(page, `${tid('cell-table')} tbody tr`, cells.length)
    const lows = new Set(rs.filter((r) => r.cell_voltages?.length).map((r) => {
      const v = r.cell_voltages
      return String(v.indexOf(Math.min(...v)) + 1)
    }))
    const low = await until(`cell-chart's data-low-cell one of ${[...lows].join(', ')} (the stored readings' lowest)`, async () => {
      const v = await page.getAttribute(tid('cell-chart'), 'data-low-cell')
      return { ok: lows.has(v), seen: `data-low-cell=${JSON.stringify(v)}`, value: v }
    })
    await expectText(page, tid('cell-low'), new RegExp(`^Lowest: cell ${low}, \\d\\.\\d{3} V$`))
    const px = await until('the cell chart drawn', async () => {
      const n = await drawn(page, `${tid('cell-chart')} canvas`)
      return { ok: n > 1000, seen: `${n} pixels drawn` }
    })
    return `${cells.length} cells, lowest ${low}, ${px}`
  })
  await c.check('temperatures, protection and the link are shown', async () => {
    const rs = await recentReadings(bat, 5)
    const temps = rs.find((r) => r.temperatures?.length)?.temperatures ?? []
    for (let i = 1; i <= temps.length; i++) await expectText(page, tid(`detail-temp-${i}`), new RegExp(`^Probe ${i} ?-?\\d+\\.\\d °C$`))
    await page.locator(tid('detail-protection')).waitFor()
    await expectText(page, tid('link-state'), /^connected \(ok\)$/)
  })
  await c.check('the history: the last hour, every reading, live, its charts drawn', async () => {
    await expectAttr(page, tid('detail-history'), 'data-range', '1h')
    await expectAttr(page, tid('history-range-1h'), 'aria-pressed', 'true')
    const info = await expectText(page, tid('history-info'), /^[1-9]\d* points, every reading, live$/)
    for (const id of ['history-voltage', 'history-current', 'history-power', 'history-soc']) await historyDrawn(page, id)
    return info
  })
  await c.check('the 24 h range is asked for and kept in the address', async () => {
    await page.click(tid('history-range-24h'))
    await expectAttr(page, tid('detail-history'), 'data-range', '24h')
    await until('?range=24h in the address', async () => ({ ok: new URL(page.url()).searchParams.get('range') === '24h', seen: page.url() }))
    return expectText(page, tid('history-info'), /^\d+ points, /)
  })
}

/* ==== 4. Acknowledging an alert ==== */

async function ack() {
  // The alert: the oldest one of the battery that is open and not
  // acknowledged, as the store has it.
  const recs = await query(o, tenant, ['--type', 'alerts', '--battery', bat, '--since', '-1d'])
  const byAlert = new Map()
  for (const r of recs) byAlert.set(r.alert_id, [...(byAlert.get(r.alert_id) ?? []), r])
  const alertId = [...byAlert.keys()].find((k) => {
    const l = byAlert.get(k)
    return l[l.length - 1].state !== 'cleared' && !l.some((r) => r.ack_by)
  })
  const page = await signedIn(operator)
  const note = `cell 5 checked on site (${process.pid})`
  const row = `${tid('alert-row')}[data-alert-id="${alertId}"]`
  await c.check(`the operator ${operator.user} sees ${alertId ?? 'an open alert'} open and not acknowledged`, async () => {
    if (!alertId) throw new Error(`expected an open, unacknowledged alert of ${bat} in the store; it has ${JSON.stringify(recs)}`)
    await page.click(tid('nav-alerts'))
    await page.locator(tid('alerts-page')).waitFor()
    await expectAttr(page, row, 'data-open', 'true')
    await expectAttr(page, row, 'data-acked', 'false')
    const l = byAlert.get(alertId)
    await expectText(page, `${row} ${tid('alert-message')}`, l[l.length - 1].message)
    await expectText(page, `${row} ${tid('alert-battery')}`, bat)
  })
  await c.check('acknowledged with a note: the row says by whom', async () => {
    await page.click(`${row} ${tid('alert-ack')}`)
    await page.fill(`${row} ${tid('alert-ack-note')}`, note)
    const sent = page.waitForRequest((r) => r.method() === 'POST' && /^\/api\/v1\/alerts\/\d+\/ack$/.test(new URL(r.url()).pathname))
    await page.click(`${row} ${tid('alert-ack-submit')}`)
    const body = (await sent).postDataJSON()
    if (body?.note !== note) throw new Error(`expected the note ${JSON.stringify(note)} sent with the acknowledgement; the request had ${JSON.stringify(body)}`)
    const said = await expectText(page, `${row} ${tid('alert-acked')}`, new RegExp(`^Acknowledged by ${operator.user}, `))
    await expectAttr(page, row, 'data-acked', 'true')
    await expectCount(page, `${row} ${tid('alert-ack')}`, 0)
    await expectCount(page, `${row} ${tid('alert-ack-error')}`, 0)
    return said
  })
  await c.check(`the store has ack_by ${operator.user} on ${alertId}`, async () => {
    const after = (await query(o, tenant, ['--type', 'alerts', '--battery', bat, '--since', '-1d'])).filter((r) => r.alert_id === alertId)
    const acked = after.filter((r) => r.ack_by === operator.user && r.ack_at)
    if (acked.length === 0) throw new Error(`expected ack_by "${operator.user}" on a record of ${alertId} in the store; it has ${JSON.stringify(after)}`)
    return `record ${acked[0].id}, ack_at ${acked[0].ack_at}`
  })
  await c.check('after a reload the alert is still acknowledged by the operator', async () => {
    await page.reload()
    await page.locator(tid('alerts-page')).waitFor()
    await expectAttr(page, row, 'data-acked', 'true')
    return expectText(page, `${row} ${tid('alert-acked')}`, new RegExp(`^Acknowledged by ${operator.user}, `))
  })
}

/* ==== 5. Registering and editing a battery ==== */

async function register() {
  const page = await signedIn(operator)
  const id = `garage-${process.pid}`
  const row = `${tid('battery-row')}[data-bms-id="${id}"]`
  const posts = []
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/bms/connect') posts.push(r)
  })
  await c.check('the batteries page, from the header', async () => {
    await page.click(tid('nav-batteries'))
    await page.locator(tid('register-form')).waitFor()
    await page.locator(`${tid('battery-row')}[data-bms-id="${bat}"]`).waitFor()
  })
  await c.check('a bad MAC address is refused on its field by the page, nothing sent', async () => {
    await page.selectOption(tid('register-protocol'), 'bluetooth')
    await expectCount(page, tid('register-device_path'), 0)
    await page.fill(tid('register-mac_address'), 'AA:BB:CC:DD:EE')
    await page.locator(tid('register-mac_address')).blur()
    await expectText(page, tid('register-error-mac_address'), 'not a MAC address such as AA:BB:CC:DD:EE:FF')
    await expectAttr(page, tid('register-mac_address'), 'aria-invalid', 'true')
    await page.click(tid('register-submit'))
    await expectText(page, tid('register-error-mac_address'), 'not a MAC address such as AA:BB:CC:DD:EE:FF')
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))
    if (focused !== 'register-mac_address') throw new Error(`expected the focus on the MAC address field; it is on ${focused}`)
    if (posts.length) throw new Error(`expected no request to register; ${posts.length} were sent`)
  })
  await c.check("the API's 400 (a baud rate it refuses) lands on the baud rate field", async () => {
    await page.fill(tid('register-mac_address'), 'AA:BB:CC:DD:EE:42')
    await page.locator(tid('register-mac_address')).blur()
    await expectCount(page, tid('register-error-mac_address'), 0)
    await page.fill(tid('register-bms_id'), id)
    await page.fill(tid('register-name'), 'Garage pack')
    await page.selectOption(tid('register-baud_rate'), '9600')
    // The page offers only the rates the API takes: the request is
    // changed on its way, so that the API itself refuses it.
    await page.route('**/api/v1/bms/connect', async (route) => {
      const body = JSON.parse(route.request().postData())
      body.connection_config.baud_rate = 12345
      await route.continue({ postData: JSON.stringify(body) })
    }, { times: 1 })
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/bms/connect')
    await page.click(tid('register-submit'))
    const res = await answer
    const body = await res.json().catch(() => null)
    if (res.status() !== 400 || body?.details?.field !== 'connection_config.baud_rate')
      throw new Error(`expected the API to answer 400 on connection_config.baud_rate; it answered ${res.status()} ${JSON.stringify(body)}`)
    await expectText(page, tid('register-error-baud_rate'), 'not one of 9600, 19200, 38400, 57600, 115200')
    await expectAttr(page, tid('register-baud_rate'), 'aria-invalid', 'true')
    await expectCount(page, tid('register-done'), 0)
    await expectCount(page, row, 0)
    const reg = (await bmsStoreJson(['batteries', 'list'])).find((b) => b.bms_id === id)
    if (reg) throw new Error(`expected ${id} not registered after the 400; the store has ${JSON.stringify(reg)}`)
    return `${res.status()} ${body.message}`
  })
  await c.check('registered once the rate is changed: in the list, and in the store', async () => {
    await page.selectOption(tid('register-baud_rate'), '19200')
    await expectCount(page, tid('register-error-baud_rate'), 0)
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/bms/connect')
    await page.click(tid('register-submit'))
    const res = await answer
    if (res.status() >= 300) throw new Error(`expected the registration taken; the API answered ${res.status()} ${await res.text()}`)
    await expectText(page, tid('register-done'), `Registered “${id}”.`)
    await expectText(page, `${row} ${tid('battery-row-link')}`, 'Garage pack')
    await expectText(page, row, (t) => t.includes('AA:BB:CC:DD:EE:42') && t.includes('Bluetooth LE'))
    const reg = (await bmsStoreJson(['batteries', 'list'])).find((b) => b.bms_id === id)
    if (!reg || reg.name !== 'Garage pack') throw new Error(`expected ${id} named Garage pack in the store; it has ${JSON.stringify(reg)}`)
    return id
  })
  await c.check('renamed in its edit panel: the list and the store say the new name', async () => {
    await page.click(`${row} ${tid('battery-edit')}`)
    const panel = `${row} ${tid('battery-edit-panel')}`
    await page.locator(panel).waitFor()
    await page.fill(`${panel} ${tid('settings-name')}`, 'Garage bank')
    await page.click(`${panel} ${tid('settings-save')}`)
    await expectText(page, `${panel} ${tid('settings-saved')}`, 'Saved.')
    await expectText(page, `${row} ${tid('battery-row-link')}`, 'Garage bank')
    const reg = (await bmsStoreJson(['batteries', 'list'])).find((b) => b.bms_id === id)
    if (!reg || reg.name !== 'Garage bank') throw new Error(`expected ${id} named Garage bank in the store; it has ${JSON.stringify(reg)}`)
    await page.reload()
    await expectText(page, `${row} ${tid('battery-row-link')}`, 'Garage bank')
  })
}

async function bmsStoreJson(args) {
  const r = await bmsStore(o, ['-T', tenant, ...args])
  if (r.code !== 0) throw new Error(`bms-store ${args.join(' ')}: ${r.stderr.trim()}`)
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))
}

/* ==== 6. A viewer and the admin pages ==== */

async function viewerPages() {
  const page = await signedIn(viewer)
  await c.check(`the viewer ${viewer.user}'s header has no Users or Batteries link`, async () => {
    await expectText(page, tid('header-user-role'), `viewer · ${tenant}`)
    await expectCount(page, tid('nav-fleet'), 1)
    await expectCount(page, tid('nav-alerts'), 1)
    await expectCount(page, tid('nav-users'), 0)
    await expectCount(page, tid('nav-batteries'), 0)
  })
  for (const p of ['/users', '/batteries']) {
    await c.check(`the viewer going to ${p} gets the forbidden page`, async () => {
      await page.goto(`${url}${p}`)
      await page.locator(tid('forbidden')).waitFor()
      await until(`/forbidden?from=${p}`, async () => {
        const u = new URL(page.url())
        return { ok: u.pathname === '/forbidden' && u.searchParams.get('from') === p, seen: page.url() }
      })
      await expectText(page, tid('forbidden'), (t) => t.includes('Not for your role') && t.includes('(you are a viewer)'))
      await expectCount(page, tid('users-page'), 0)
      await expectCount(page, tid('batteries-page'), 0)
    })
  }
  await c.check('the API refuses the viewer the users (403)', async () => {
    const tok = await apiToken(url, tenant, viewer)
    const r = await fetch(`${url}/api/v1/users`, { headers: { authorization: `Bearer ${tok}` } })
    if (r.status !== 403) throw new Error(`expected 403 for GET /api/v1/users; got ${r.status} ${await r.text()}`)
  })
  await c.check('the viewer sees the open alerts with no way to acknowledge them', async () => {
    await page.click(tid('nav-alerts'))
    await page.locator(tid('alerts-page')).waitFor()
    await until('at least one alert row', async () => {
      const n = await page.locator(tid('alert-row')).count()
      return { ok: n > 0, seen: `${n} rows` }
    })
    await expectCount(page, tid('alert-ack'), 0)
  })
}

/* ==== 7. Another tenant's battery ==== */

async function tenants() {
  const page = await signedIn(admin)
  await c.check(`a reading of ${other} (tenant ${o['other-tenant']}) stored while the fleet is open never shows`, async () => {
    await page.locator(card).waitFor()
    await expectAttr(page, tid('live-indicator'), 'data-state', 'open')
    await watchCard(page, 'mine', bat, { 'card-voltage': '50.46 V' })
    // The other tenant's reading first, then one of this tenant's: once
    // that one is on the page, the other would have been too.
    const t = Date.now() + 1000
    await store(o, o['other-tenant'], [{ type: 'reading', bms_id: other, timestamp: new Date(t).toISOString(), pack_voltage: 47.777, soc_percent: 61.5 }])
    await store(o, tenant, [{ type: 'reading', bms_id: bat, timestamp: new Date(t).toISOString(), pack_voltage: 50.456, soc_percent: 44.4 }])
    if (!(await seenAt(page, 'mine', 5000))) throw new Error(`expected ${bat}'s card to show 50.46 V; it shows ${(await cardNow(page, bat)).voltage}`)
    const html = await page.content()
    for (const bad of [other, '47.78']) {
      if (html.includes(bad)) throw new Error(`expected "${bad}" nowhere on the fleet page; it is there: …${html.slice(Math.max(0, html.indexOf(bad) - 80), html.indexOf(bad) + 40)}…`)
    }
    await expectCount(page, cardSel(other), 0)
  })
  await c.check(`searching the fleet for ${other} finds nothing`, async () => {
    await page.fill(tid('fleet-search'), other)
    await expectText(page, tid('fleet-empty'), (t) => t.startsWith('No battery matches.'))
    await expectCount(page, tid('battery-card'), 0)
  })
  await c.check(`/battery/${other} says not found`, async () => {
    await page.goto(`${url}/battery/${other}`)
    await expectText(page, tid('detail-not-found'), `No battery “${other}” There is no such battery in your tenant.`)
    await expectCount(page, tid('detail-now'), 0)
  })
  await c.check(`the alerts page does not offer ${other}`, async () => {
    await page.click(tid('nav-alerts'))
    await page.locator(tid('alerts-page')).waitFor()
    const opts = await page.$$eval(`${tid('alerts-filter-battery')} option`, (l) => l.map((x) => x.value))
    if (opts.includes(other) || !opts.includes(bat)) throw new Error(`expected ${bat} and not ${other} among the batteries; they are ${JSON.stringify(opts)}`)
  })
}

/* ==== 8. Screenshots ==== */

async function shoot(page, name, size) {
  mkdirSync(o.shots, { recursive: true })
  const f = join(o.shots, `${name}-${size}.png`)
  await page.screenshot({ path: f, fullPage: true, animations: 'disabled' })
  const vp = page.viewportSize()
  const s = pngStats(readFileSync(f))
  const bytes = statSync(f).size
  const dark = await page.evaluate(() => document.documentElement.classList.contains('dark'))
  if (s.width !== vp.width || s.height < vp.height)
    throw new Error(`expected ${f} at least ${vp.width}x${vp.height}; it is ${s.width}x${s.height}`)
  if (bytes < 8000 || s.colours < 40)
    throw new Error(`expected ${f} to show a page; it has ${bytes} bytes and ${s.colours} colours`)
  if (!dark || s.darkShare < 0.5)
    throw new Error(`expected ${f} in the dark theme; html.dark is ${dark}, ${(s.darkShare * 100).toFixed(0)} % of it dark`)
  return `${f.slice(f.lastIndexOf('/') + 1)} ${s.width}x${s.height}, ${(bytes / 1024).toFixed(0)} KiB, ${s.colours} colours, ${(s.darkShare * 100).toFixed(0)} % dark`
}

async function screenshots() {
  for (const [size, vp] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    const page = await fresh(vp)
    await c.check(`${size} (${vp.width}x${vp.height}): the sign-in page`, async () => {
      await page.goto(`${url}/sign-in`)
      await page.locator(tid('signin-form')).waitFor()
      return shoot(page, 'signin', size)
    })
    await c.check(`${size}: the fleet`, async () => {
      await signIn(page, url, tenant, admin)
      await expectText(page, `${card} ${tid('card-voltage')}`, /^\d+\.\d\d V$/)
      await expectAttr(page, tid('live-indicator'), 'data-state', 'open')
      return shoot(page, 'fleet', size)
    })
    await c.check(`${size}: the battery's page`, async () => {
      await page.click(`${card} ${tid('card-link')}`)
      await page.locator(`${tid('cell-chart')} canvas`).waitFor()
      await expectText(page, tid('history-info'), /^[1-9]\d* points/)
      for (const id of ['history-voltage', 'history-current', 'history-power', 'history-soc', 'history-temps', 'history-cells']) await historyDrawn(page, id)
      return shoot(page, 'battery', size)
    })
    await c.check(`${size}: the alerts`, async () => {
      await page.click(tid('nav-alerts'))
      await page.locator(tid('alerts-page')).waitFor()
      await until('at least one alert row', async () => {
        const n = await page.locator(tid('alert-row')).count()
        return { ok: n > 0, seen: `${n} rows` }
      })
      return shoot(page, 'alerts', size)
    })
  }
}

const run = { signin, live, detail, ack, register, viewer: viewerPages, tenants, screenshots }
for (const s of SCENARIOS) {
  if (!only.includes(s)) continue
  console.log(`# scenario: ${s}`)
  // A failure outside a check (signing in, the store) ends the run too.
  await run[s]().catch((e) => {
    c.n++
    return c.fail(`scenario ${s}`, e)
  })
}
c.done()
await browser.close()
