#!/usr/bin/env node
// How long a stored reading takes to reach the dashboard's card, and how
// large the dashboard's JavaScript is, for make bench.
//
//   node tests/e2e/render-latency.mjs --url http://127.0.0.1:8080 --store DIR \
//       --user admin:PW [--tenant home] [--battery bench] [--n 20]
//
// The bundle is every dist/assets/*.js gzipped (level 9) on its own, the
// sizes summed: what a first visit downloads at most.
//
// Signs in (in the system's Chromium, headless), then stores N readings
// of --battery one at a time with bms-store, each with a pack voltage of
// its own, and times each from bms-store's exit (it has committed) to
// the card showing that voltage (a MutationObserver stamps the moment
// the page's DOM has it).  The battery is best one nothing else writes:
// the card keeps the newest reading by timestamp.  Prints
//
//   bundle_js_gzip_bytes=N files=N bundle_js_bytes=N
//   render_ms median=N p95=N min=N max=N n=N

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import {
  ROOT, account, cardSel, expectAttr, launch, newPage, options, signIn, store, tid,
} from './lib.mjs'

const USAGE = `usage: node render-latency.mjs --url URL --store DIR --user USER:PW [--tenant home]
       [--battery bench] [--n 20] [--ahead MS] [--bms-store bms-store] [--chromium /usr/bin/chromium]
       [--dist share/web/dist]`

const o = options(process.argv.slice(2), {
  url: undefined,
  store: undefined,
  user: undefined,
  tenant: 'home',
  battery: 'bench',
  n: '20',
  ahead: '0',
  'bms-store': 'bms-store',
  chromium: '/usr/bin/chromium',
  dist: join(ROOT, 'share/web/dist'),
}, USAGE)
const n = Number(o.n)
const ahead = Number(o.ahead)
if (!Number.isInteger(n) || n < 1 || !Number.isFinite(ahead)) {
  process.stderr.write(`--n: a whole number of readings, --ahead: ms\n${USAGE}\n`)
  process.exit(2)
}
const url = o.url.replace(/\/+$/, '')
const who = account(o.user, 'user')

/* ==== The bundle ==== */

const assets = join(o.dist, 'assets')
const js = readdirSync(assets).filter((f) => f.endsWith('.js')).sort()
let raw = 0
let gz = 0
for (const f of js) {
  const b = readFileSync(join(assets, f))
  raw += b.length
  gz += gzipSync(b, { level: 9 }).length
}
console.log(`bundle_js_gzip_bytes=${gz} files=${js.length} bundle_js_bytes=${raw}`)

/* ==== Stored to shown ==== */

const browser = await launch(o.chromium)
let failed = false
try {
  const page = await newPage(browser)
  await signIn(page, url, o.tenant, who)
  await expectAttr(page, tid('live-indicator'), 'data-state', 'open')

  let last = 0
  /** Store a reading of volts; resolve with ms from bms-store's exit to
   * the card showing it. */
  async function one(volts) {
    const want = `${volts.toFixed(2)} V`
    await page.evaluate(({ sel, want }) => {
      window.__at = 0
      window.__obs?.disconnect()
      const look = () => {
        const el = document.querySelector(sel)
        if (!window.__at && el && el.textContent.trim() === want) window.__at = Date.now()
      }
      window.__obs = new MutationObserver(look)
      window.__obs.observe(document.body, { subtree: true, childList: true, characterData: true })
      look()
    }, { sel: `${cardSel(o.battery)} [data-testid="card-voltage"]`, want })
    last = Math.max(Date.now() + ahead, last + 1)
    const cells = Array.from({ length: 16 }, (_, i) => Number((volts / 16 + (i % 4) * 0.001).toFixed(3)))
    const exitAt = await store(o, o.tenant, [{
      type: 'reading', bms_id: o.battery, timestamp: new Date(last).toISOString(),
      pack_voltage: volts, pack_current: 4.2, soc_percent: 55, cell_voltages: cells,
    }])
    const h = await page.waitForFunction(() => window.__at, null, { timeout: 10_000, polling: 10 }).catch(() => null)
    if (!h) throw new Error(`the card of ${o.battery} did not show ${want} within 10 s of its reading being stored`)
    return Math.max(0, (await h.jsonValue()) - exitAt)
  }

  // The first reading may make the battery (its card comes with the
  // next fetch of the list): not counted.
  await one(40)
  const ms = []
  for (let i = 1; i <= n; i++) ms.push(await one(Number((40 + i * 0.37).toFixed(3))))
  ms.sort((a, b) => a - b)
  const q = (p) => ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)]
  console.log(`render_ms median=${q(0.5)} p95=${q(0.95)} min=${ms[0]} max=${ms[ms.length - 1]} n=${ms.length}`)
} catch (e) {
  console.error(`render-latency: ${e.message}`)
  failed = true
} finally {
  await browser.close()
}
process.exit(failed ? 1 : 0)
