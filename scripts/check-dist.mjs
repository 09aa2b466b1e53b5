// Fails when the committed dist/ differs from a fresh bundle of src/.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { tmpdir } from 'node:os'

async function files(dir) {
  const out = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await files(full)))
    else out.push(full)
  }
  return out
}

const fresh = await mkdtemp(join(tmpdir(), 'rollout-guard-dist-'))
try {
  execFileSync(process.execPath, ['scripts/bundle.mjs', fresh], { stdio: 'inherit' })
  const want = new Map()
  for (const f of await files(fresh)) want.set(relative(fresh, f), await readFile(f, 'utf8'))
  const have = new Map()
  for (const f of await files('dist').catch(() => [])) have.set(relative('dist', f), await readFile(f, 'utf8'))
  const problems = []
  for (const [name, text] of want) {
    if (!have.has(name)) problems.push(`missing dist/${name}`)
    else if (have.get(name) !== text) problems.push(`stale dist/${name}`)
  }
  for (const name of have.keys()) if (!want.has(name)) problems.push(`extra dist/${name}`)
  if (problems.length > 0) {
    console.error(
      `dist/ does not match a fresh bundle:\n  ${problems.join('\n  ')}\nRun \`npm run bundle\` and commit dist/.`
    )
    process.exit(1)
  }
  console.log('dist/ matches a fresh bundle')
} finally {
  await rm(fresh, { recursive: true, force: true })
}
