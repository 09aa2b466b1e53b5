// Every package the sources load lazily (`import('pkg')`) is an ES module. In the split bundle (scripts/bundle.mjs) a
// dynamic import of a CommonJS package yields only its `default`: `const { Agent } = await import('undici')` worked
// under ts-jest and came out undefined in dist/ ("d is not a constructor", caught only by the registries e2e). A
// CommonJS package is loaded lazily through a module of ours that imports it statically (src/docker/tls-agent.ts).
import { describe, expect, test } from '@jest/globals'
import { readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []
  )
}

/** `import('x')` with a bare specifier (a package, not ./ or node:), with the file that does it. */
function lazyPackageImports(): { file: string; specifier: string }[] {
  const out: { file: string; specifier: string }[] = []
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    // Comments may quote an import (tls-agent.ts does); `://` keeps URLs in strings.
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:])\/\/.*$/gm, '$1')
    for (const m of code.matchAll(/\bimport\(\s*['"]([^'"./][^'"]*)['"]\s*\)/g)) {
      if (!m[1]!.startsWith('node:')) out.push({ file: file.slice(ROOT.length + 1), specifier: m[1]! })
    }
  }
  return out
}

function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

describe('lazily imported packages', () => {
  const imports = lazyPackageImports()

  test('the scan finds the ones we know of (it is not vacuous)', () => {
    expect(imports.map((i) => i.specifier)).toContain('execa')
  })

  test.each(imports)('$file: import("$specifier") is an ES module', ({ specifier }) => {
    const pkg = JSON.parse(
      readFileSync(join(ROOT, 'node_modules', packageName(specifier), 'package.json'), 'utf8')
    ) as { type?: string }
    expect({ specifier, type: pkg.type ?? 'commonjs' }).toEqual({ specifier, type: 'module' })
  })

  test('a CommonJS package would be caught', () => {
    const undici = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'undici', 'package.json'), 'utf8')) as {
      type?: string
    }
    expect(undici.type ?? 'commonjs').toBe('commonjs')
  })
})
