// `npm run pictures`: the README's pictures of what a user gets, made from a real demo run. Runs `npm run demo` with
// ROLLOUT_GUARD_DEMO_OUT (each release's result as the CLI's --json, plus a PR check of v7), renders those results with
// the Action's own renderers (src/report/markdown.ts: the job summary; src/github/pr-comment.ts: the PR comment),
// turns the Markdown into a GitHub-like page (marked for the Markdown, mermaid for the charts, as GitHub renders them)
// and screenshots it in headless Chromium (Debian's `chromium`) into docs/images/*.png.
//
//   node scripts/pictures.mjs                  run the demo, then render
//   node scripts/pictures.mjs --keep <dir>     the same, keeping the demo's results in <dir>
//   node scripts/pictures.mjs --from <dir>     render the results a demo run kept in <dir> (no cluster needed)
//
// Chromium is driven over the DevTools protocol (Node's own WebSocket), so the page is captured at its full height.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { Marked } from 'marked'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const imagesDir = join(root, 'docs', 'images')
const say = (m) => process.stdout.write(`[pictures] ${m}\n`)

/** The pictures: which kept result, rendered how, into which file, at which width. */
const PICTURES = [
  { file: 'summary-rolled-back.png', result: 'v3', kind: 'summary', title: 'Job summary: a crash-looping release' },
  { file: 'summary-train.png', result: 'v5', kind: 'summary', title: 'Job summary: a train rolled back' },
  { file: 'summary-canary.png', result: 'v6', kind: 'summary', title: 'Job summary: canary vs stable' },
  // The comment's template diff is folded on GitHub; the picture shows it unfolded.
  { file: 'pr-comment.png', result: 'check', kind: 'comment', title: 'PR comment of a check', unfold: true }
]
const WIDTH = 1012

function chromiumPath() {
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (existsSync(p)) return p
  }
  throw new Error('headless Chromium is needed: apt-get install -y chromium')
}

async function runDemo(out) {
  say(`running the demo (results kept in ${out})`)
  const child = spawn(process.execPath, [join(root, 'scripts', 'demo.mjs')], {
    env: { ...process.env, ROLLOUT_GUARD_DEMO_OUT: out },
    stdio: 'inherit'
  })
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`the demo failed (exit ${code}); no pictures made`)
}

/** The Action's renderers, bundled from src/ on the fly (they are pure functions of a ReleaseResult). */
async function renderers(tmp) {
  const bundled = await build({
    stdin: {
      contents: `export { renderSummary } from './src/report/markdown.ts'
export { commentedWorkloads, renderPrComment } from './src/github/pr-comment.ts'`,
      resolveDir: root,
      loader: 'ts'
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    write: false,
    logLevel: 'warning',
    banner: { js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);" }
  })
  const file = join(tmp, 'renderers.mjs')
  await writeFile(file, bundled.outputFiles[0].text)
  return import(pathToFileURL(file).href)
}

function escapeHtml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Markdown → HTML as GitHub shows it: GFM tables, raw HTML kept (<details>), mermaid blocks drawn by mermaid. */
function toHtml(markdown, title, unfold = false) {
  const marked = new Marked({ gfm: true })
  marked.use({
    renderer: {
      code({ text, lang }) {
        if (lang === 'mermaid') return `<pre class="mermaid">${escapeHtml(text)}</pre>\n`
        return `<pre><code>${escapeHtml(text)}</code></pre>\n`
      }
    }
  })
  const mermaid = pathToFileURL(join(root, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js')).href
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
  body { margin: 0; background: #ffffff; font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
  .frame { margin: 16px; border: 1px solid #d1d9e0; border-radius: 6px; }
  .bar { padding: 8px 16px; background: #f6f8fa; border-bottom: 1px solid #d1d9e0; font-weight: 600; border-radius: 6px 6px 0 0; }
  .body { padding: 16px 24px; }
  h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: 0 0 16px; }
  h3 { font-size: 1.25em; margin: 24px 0 16px; }
  table { border-collapse: collapse; margin: 0 0 16px; display: block; overflow: auto; }
  th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
  th { font-weight: 600; } tr:nth-child(2n) { background: #f6f8fa; }
  code, pre { font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  code { background: #eff1f3; padding: .2em .4em; border-radius: 6px; }
  pre { background: #f6f8fa; padding: 16px; border-radius: 6px; overflow: auto; }
  pre code { background: none; padding: 0; }
  pre.mermaid { background: none; text-align: center; }
  details { margin: 0 0 16px; } summary { cursor: pointer; }
  a { color: #0969da; text-decoration: none; }
  p { margin: 0 0 16px; }
</style></head>
<body><div class="frame"><div class="bar">${escapeHtml(title)}</div><div class="body">
${marked.parse(markdown)}
</div></div>
<script src="${mermaid}"></script>
<script>
  ${unfold ? "document.querySelectorAll('details').forEach((d) => { d.open = true })" : ''}
  mermaid.initialize({ startOnLoad: false, theme: 'default' })
  mermaid.run().finally(() => { document.body.dataset.ready = '1' })
</script>
</body></html>
`
}

/** Headless Chromium over the DevTools protocol: open each page, wait for mermaid, capture the full height. */
async function withChromium(fn) {
  const profile = await mkdtemp(join(tmpdir(), 'rollout-guard-chromium-'))
  const child = spawn(
    chromiumPath(),
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--hide-scrollbars',
      '--allow-file-access-from-files',
      `--user-data-dir=${profile}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      'about:blank'
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] }
  )
  try {
    const endpoint = await new Promise((resolve, reject) => {
      let err = ''
      const timer = setTimeout(() => reject(new Error(`Chromium did not start in 30 s: ${err.slice(-500)}`)), 30_000)
      child.stderr.on('data', (d) => {
        err += d
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err)
        if (m) {
          clearTimeout(timer)
          resolve(m[1])
        }
      })
      child.on('exit', (code) => reject(new Error(`Chromium exited (${code}): ${err.slice(-500)}`)))
    })
    const cdp = await connect(endpoint)
    try {
      return await fn(cdp)
    } finally {
      cdp.close()
    }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.on('close', resolve))
    await rm(profile, { recursive: true, force: true })
  }
}

async function connect(url) {
  const ws = new WebSocket(url)
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = () => reject(new Error(`cannot connect to Chromium at ${url}`))
  })
  let id = 0
  const pending = new Map()
  const listeners = []
  ws.onmessage = (event) => {
    const msg = JSON.parse(String(event.data))
    if (msg.id !== undefined && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id)
      pending.delete(msg.id)
      if (msg.error) reject(new Error(`${msg.error.message} (${msg.error.code})`))
      else resolve(msg.result)
    } else if (msg.method) {
      for (const l of listeners) l(msg)
    }
  }
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const n = ++id
      pending.set(n, { resolve, reject })
      ws.send(JSON.stringify({ id: n, method, params, ...(sessionId ? { sessionId } : {}) }))
    })
  return { send, on: (l) => listeners.push(l), close: () => ws.close() }
}

async function screenshot(cdp, htmlFile, pngFile) {
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true })
  const s = (method, params) => cdp.send(method, params, sessionId)
  // A short viewport, so the page's own height (not the window's) decides the picture's.
  await s('Emulation.setDeviceMetricsOverride', { width: WIDTH, height: 100, deviceScaleFactor: 1, mobile: false })
  await s('Page.enable')
  await s('Page.navigate', { url: pathToFileURL(htmlFile).href })
  const deadline = Date.now() + 30_000
  for (;;) {
    const { result } = await s('Runtime.evaluate', { expression: "document.body?.dataset.ready === '1'" })
    if (result.value === true) break
    if (Date.now() > deadline) throw new Error(`${htmlFile}: mermaid did not finish drawing in 30 s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const { cssContentSize } = await s('Page.getLayoutMetrics')
  const height = Math.ceil(cssContentSize.height)
  const { data } = await s('Page.captureScreenshot', {
    format: 'png',
    captureBeyondViewport: true,
    clip: { x: 0, y: 0, width: WIDTH, height, scale: 1 }
  })
  await writeFile(pngFile, Buffer.from(data, 'base64'))
  await cdp.send('Target.closeTarget', { targetId })
  return height
}

const option = (name) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const tmp = await mkdtemp(join(tmpdir(), 'rollout-guard-pictures-'))
try {
  let resultsDir = option('--from')
  if (!resultsDir) {
    resultsDir = option('--keep') ?? join(tmp, 'results')
    await mkdir(resultsDir, { recursive: true })
    await runDemo(resultsDir)
  }
  const { renderSummary, commentedWorkloads, renderPrComment } = await renderers(tmp)
  await mkdir(imagesDir, { recursive: true })
  await withChromium(async (cdp) => {
    for (const p of PICTURES) {
      const result = JSON.parse(await readFile(join(resultsDir, `${p.result}.json`), 'utf8'))
      const markdown =
        p.kind === 'summary'
          ? renderSummary(result)
          : renderPrComment(result, commentedWorkloads(result)[0], {
              sha: result.origin?.sha ?? 'local',
              runUrl: result.origin?.runUrl
            })
      await writeFile(join(tmp, `${p.result}.md`), markdown)
      const html = join(tmp, `${p.result}.html`)
      await writeFile(html, toHtml(markdown, p.title, p.unfold))
      const height = await screenshot(cdp, html, join(imagesDir, p.file))
      say(`docs/images/${p.file} (${WIDTH}×${height}) from the ${p.result} release`)
    }
  })
} finally {
  await rm(tmp, { recursive: true, force: true })
}
