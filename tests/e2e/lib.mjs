// What the end-to-end scripts share: their options, the browser (the
// system's Chromium, never a downloaded one), signing in through the
// page, bms-store run as a child, checks that print one line each and
// stop at the first failure with a screenshot, and a PNG reader to tell
// a real screenshot from a blank one.

import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inflateSync } from 'node:zlib'
import { chromium } from 'playwright-core'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/* ==== Options ==== */

/** --name VALUE or --name=VALUE for each key of defaults (a boolean
 * default makes a flag); exits 2 with the usage on anything else. */
export function options(argv, defaults, usage) {
  const o = { ...defaults }
  const die = (msg) => {
    process.stderr.write(`${msg}\n${usage}\n`)
    process.exit(2)
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${usage}\n`)
      process.exit(0)
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(a)
    if (!m || !(m[1] in defaults)) die(`unknown option: ${a}`)
    const key = m[1]
    if (typeof defaults[key] === 'boolean') {
      if (m[2] !== undefined) die(`--${key} takes no value`)
      o[key] = true
    } else if (m[2] !== undefined) {
      o[key] = m[2]
    } else {
      if (i + 1 >= argv.length) die(`--${key} wants a value`)
      o[key] = argv[++i]
    }
  }
  for (const [k, v] of Object.entries(o)) if (v === undefined) die(`--${k} is required`)
  return o
}

/** "name:password" into its halves (the password may hold colons). */
export function account(s, what) {
  const i = s.indexOf(':')
  if (i <= 0) {
    process.stderr.write(`--${what}: give USER:PASSWORD\n`)
    process.exit(2)
  }
  return { user: s.slice(0, i), password: s.slice(i + 1) }
}

/* ==== The browser ==== */

export async function launch(executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    // /dev/shm is small in containers; no GPU in CI.
    args: ['--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  })
}

export const DESKTOP = { width: 1440, height: 900 }
export const PHONE = { width: 390, height: 844 }

/** A fresh context (its own sessionStorage, so its own session) and page. */
export async function newPage(browser, viewport = DESKTOP) {
  const phone = viewport.width < 600
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: 1,
    isMobile: phone,
    hasTouch: phone,
    locale: 'en-GB',
    timezoneId: 'UTC',
  })
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  // What a failure reports besides: the page's uncaught errors, and the
  // requests answered 400 and up (a dashboard file gone is a 404 here).
  page.errors = []
  page.refused = []
  page.on('pageerror', (e) => page.errors.push(e.message))
  page.on('response', (r) => {
    if (r.status() >= 400) page.refused.push(`${r.status()}: ${r.request().method()} ${new URL(r.url()).pathname}`)
  })
  return page
}

export const tid = (id) => `[data-testid="${id}"]`
export const cardSel = (bmsId) => `${tid('battery-card')}[data-bms-id="${bmsId}"]`

/** Sign in through the sign-in page; returns once the page after it
 * (the fleet, for a tenant's user) is there. */
export async function signIn(page, url, tenant, who) {
  await page.goto(`${url}/sign-in`)
  await page.locator(tid('signin-form')).waitFor()
  await page.fill(tid('signin-tenant'), tenant)
  await page.fill(tid('signin-username'), who.user)
  await page.fill(tid('signin-password'), who.password)
  await page.click(tid('signin-submit'))
  await until(`the fleet after signing in as ${who.user}`, async () => {
    const err = await text(page, tid('signin-error'))
    if (err !== null) throw new Error(`signing in as ${who.user} of ${tenant} failed: the page said ${JSON.stringify(err)}`)
    return { ok: (await page.locator(tid('fleet')).count()) > 0, seen: `the page at ${page.url()}` }
  })
}

/* ==== Looking at the page ==== */

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Poll probe (every 50 ms, at most timeout ms) until it says ok; return
 * its value (or what it saw), or fail with what it last saw. */
export async function until(what, probe, timeout = 5000) {
  const end = Date.now() + timeout
  for (;;) {
    const r = await probe()
    if (r.ok) return 'value' in r ? r.value : r.seen
    if (Date.now() > end) throw new Error(`expected ${what} within ${timeout} ms; the page showed ${r.seen}`)
    await sleep(50)
  }
}

/** The first match's text as rendered (innerText: blocks apart), trimmed
 * and with its white space folded, or null when there is none. */
export async function text(page, sel) {
  const l = page.locator(sel)
  if ((await l.count()) === 0) return null
  const t = await l.first().innerText({ timeout: 1000 }).catch(() => null)
  return t === null ? null : t.replace(/\s+/g, ' ').trim()
}

function wanted(want) {
  if (want instanceof RegExp) return [(t) => want.test(t), `to match ${want}`]
  if (typeof want === 'function') return [want, `to be ${want.what ?? 'as wanted'}`]
  return [(t) => t === want, `to read ${JSON.stringify(want)}`]
}

/** Wait until sel's text is as wanted (a string, a RegExp, or a
 * predicate with a .what); return it. */
export async function expectText(page, sel, want, timeout = 5000) {
  const [ok, says] = wanted(want)
  return until(`${sel} ${says}`, async () => {
    const t = await text(page, sel)
    return { ok: t !== null && ok(t), seen: t === null ? 'no such element' : JSON.stringify(t) }
  }, timeout)
}

/** Wait until sel matches exactly n elements. */
export async function expectCount(page, sel, n, timeout = 5000) {
  return until(`${n} of ${sel}`, async () => {
    const c = await page.locator(sel).count()
    return { ok: c === n, seen: `${c}` }
  }, timeout)
}

/** Wait until sel's attribute name is value. */
export async function expectAttr(page, sel, name, value, timeout = 5000) {
  return until(`${sel} with ${name}="${value}"`, async () => {
    const l = page.locator(sel)
    if ((await l.count()) === 0) return { ok: false, seen: 'no such element' }
    const v = await l.first().getAttribute(name)
    return { ok: v === value, seen: `${name}=${JSON.stringify(v)}` }
  }, timeout)
}

/* ==== Checks ==== */

/** One line per check, TAP-like; the first failure saves a screenshot of
 * the page in hand, says what was expected and what the page showed,
 * and ends the run with status 1. */
export class Checks {
  constructor(shots, prefix) {
    this.n = 0
    this.shots = shots
    this.prefix = prefix
    this.page = null
    this.browser = null
  }

  async check(desc, fn) {
    this.n++
    const t0 = Date.now()
    let note
    try {
      note = await fn()
    } catch (e) {
      await this.fail(desc, e)
    }
    console.log(`ok ${this.n} - ${desc}${note ? ` (${note})` : ''} [${Date.now() - t0} ms]`)
  }

  /** Say that desc failed with e, what the page had to say, save a
   * screenshot of it, and end the run. */
  async fail(desc, e) {
    console.log(`not ok ${this.n} - ${desc}`)
    for (const l of String(e?.message ?? e).split('\n')) console.log(`# ${l}`)
    const page = this.page
    if (page && !page.isClosed()) {
      console.log(`# at ${page.url()}`)
      for (const pe of page.errors) console.log(`# page error: ${pe}`)
      for (const r of page.refused) console.log(`# answered ${r}`)
      try {
        mkdirSync(this.shots, { recursive: true })
        const f = join(this.shots, `failure-${this.prefix}-${this.n}.png`)
        await page.screenshot({ path: f, fullPage: true, timeout: 5000 })
        console.log(`# screenshot: ${f}`)
      } catch (se) {
        console.log(`# no screenshot: ${se.message.split('\n')[0]}`)
      }
    }
    await this.browser?.close().catch(() => {})
    process.exit(1)
  }

  done() {
    console.log(`1..${this.n}`)
  }
}

/* ==== bms-store ==== */

/** Run bms-store with args, input (if any) on its stdin; resolves with its status,
 * output and the time it exited (ms since the epoch). */
export function bmsStore(o, args, input = null) {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(o['bms-store'], ['-d', o.store, ...args], { stdio: [input === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let exitAt = 0
    let code = null
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', reject)
    p.on('exit', (c, sig) => {
      exitAt = Date.now()
      code = c ?? sig
    })
    p.on('close', () => resolvePromise({ code, stdout: out, stderr: err, exitAt }))
    if (input !== null) {
      // A write error shows as the child's status and words.
      p.stdin.on('error', () => {})
      p.stdin.end(input)
    }
  })
}

/** Store records (objects) for the tenant; resolves with the time
 * bms-store exited, after it committed them. */
export async function store(o, tenant, records) {
  const r = await bmsStore(o, ['-T', tenant], records.map((x) => JSON.stringify(x)).join('\n') + '\n')
  if (r.code !== 0) throw new Error(`bms-store -T ${tenant} ended with ${r.code}: ${r.stderr.trim()}`)
  return r.exitAt
}

/** bms-store query ARGS as a list of records. */
export async function query(o, tenant, args) {
  const r = await bmsStore(o, ['-T', tenant, 'query', ...args])
  if (r.code !== 0) throw new Error(`bms-store -T ${tenant} query ${args.join(' ')} ended with ${r.code}: ${r.stderr.trim()}`)
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))
}

/* ==== The API, for what the page should not be trusted to say ==== */

export async function apiToken(url, tenant, who) {
  const r = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant, username: who.user, password: who.password }),
  })
  if (r.status !== 200) throw new Error(`signing in to the API as ${who.user}: ${r.status} ${await r.text()}`)
  return (await r.json()).access_token
}

/* ==== PNG ==== */

/** Width, height and pixels (RGBA, 8 bits) of an 8-bit RGB or RGBA PNG
 * without interlacing, as Chromium writes them. */
export function readPng(buf) {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  if (buf.length < 33 || !buf.subarray(0, 8).equals(sig)) throw new Error('not a PNG file')
  let pos = 8
  let width = 0, height = 0, depth = 0, ctype = 0, interlace = 0
  const idat = []
  while (pos + 8 <= buf.length) {
    const len = buf.readUInt32BE(pos)
    const type = buf.toString('latin1', pos + 4, pos + 8)
    const data = buf.subarray(pos + 8, pos + 8 + len)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      depth = data[8]
      ctype = data[9]
      interlace = data[12]
    } else if (type === 'IDAT') idat.push(data)
    else if (type === 'IEND') break
    pos += 12 + len
  }
  if (depth !== 8 || (ctype !== 2 && ctype !== 6) || interlace !== 0)
    throw new Error(`a PNG of bit depth ${depth}, colour type ${ctype}, interlace ${interlace}: not read here`)
  const bpp = ctype === 6 ? 4 : 3
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * bpp
  const px = Buffer.alloc(width * height * 4)
  let prev = Buffer.alloc(stride)
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)))
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp] : 0
      const b = prev[i]
      const c = i >= bpp ? prev[i - bpp] : 0
      let v = line[i]
      if (f === 1) v += a
      else if (f === 2) v += b
      else if (f === 3) v += (a + b) >> 1
      else if (f === 4) {
        const p = a + b - c
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c)
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c
      }
      line[i] = v & 0xff
    }
    for (let x = 0; x < width; x++) {
      px[(y * width + x) * 4] = line[x * bpp]
      px[(y * width + x) * 4 + 1] = line[x * bpp + 1]
      px[(y * width + x) * 4 + 2] = line[x * bpp + 2]
      px[(y * width + x) * 4 + 3] = bpp === 4 ? line[x * bpp + 3] : 255
    }
    prev = line
  }
  return { width, height, px }
}

/** What a screenshot holds: its size, how many colours (by 4-bit
 * channels), the mean luminance (0-255) and the share of dark pixels. */
export function pngStats(buf) {
  const { width, height, px } = readPng(buf)
  const colours = new Set()
  let lum = 0
  let dark = 0
  const n = width * height
  for (let i = 0; i < n; i++) {
    const r = px[i * 4], g = px[i * 4 + 1], b = px[i * 4 + 2]
    colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4))
    const l = 0.2126 * r + 0.7152 * g + 0.0722 * b
    lum += l
    if (l < 64) dark++
  }
  return { width, height, colours: colours.size, meanLuminance: lum / n, darkShare: dark / n }
}
