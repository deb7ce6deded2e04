// Writes dist/SOURCES.sha256: the SHA-256 of every source file of the
// dashboard, in sha256sum's format, sorted by path (byte order, as
// LC_ALL=C sort), paths relative to share/web.  With it a check needing
// no Node (cd share/web && sha256sum -c dist/SOURCES.sha256) tells
// whether dist/ was built from the sources as they are.
//
// A source file is every file under share/web but the build's output
// (dist/), installed packages (node_modules/) and what .gitignore leaves
// out (coverage/, logs, the .vite cache): more than the build reads
// (tests, this script, README.md) is listed rather than less.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const skipDirs = new Set(['dist', 'node_modules', 'coverage', '.vite', '.git'])
const skipFile = (name) => name.endsWith('.log') || name === '.DS_Store'

function walk(dir, out) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) {
      if (!skipDirs.has(e.name)) walk(p, out)
    } else if (e.isFile() && !skipFile(e.name)) {
      out.push(relative(root, p).split(sep).join('/'))
    }
  }
  return out
}

const files = walk(root, []).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
for (const f of files) {
  if (/[\s\\]/.test(f)) throw new Error(`sources: a path with a space or backslash: ${f}`)
}
const lines = files.map((f) => {
  const h = createHash('sha256').update(readFileSync(join(root, f))).digest('hex')
  return `${h}  ${f}\n`
})
if (!existsSync(join(root, 'dist'))) throw new Error('sources: no dist/: run vite build first')
writeFileSync(join(root, 'dist', 'SOURCES.sha256'), lines.join(''))
console.log(`sources: ${files.length} files in dist/SOURCES.sha256`)
