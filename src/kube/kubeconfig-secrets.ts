// The credential values inside a kubeconfig, so the Action can register each one as a secret. The runner masks
// within one log line, so a multi-line kubeconfig registered whole would never match; its credentials are found by
// parsing it (YAML, and so JSON too) and, as a fallback for text that does not parse, line by line.
import { parse } from 'yaml'

/** Keys whose string values are credentials, anywhere in the document (users, auth-provider config, exec env). */
const SECRET_KEYS = new Set([
  'token',
  'id-token',
  'refresh-token',
  'access-token',
  'client-key-data',
  'client-certificate-data',
  'client-secret',
  'password',
  'auth-provider-token'
])

const SECRET_LINE = new RegExp(`^\\s*-?\\s*["']?(${[...SECRET_KEYS].join('|')})["']?\\s*:\\s*["']?([^"'\\s,}]+)`)

/** Every credential value in a kubeconfig text, YAML or JSON; [] when it has none. */
export function kubeconfigSecrets(text: string): string[] {
  const found = new Set<string>()
  for (const line of text.split(/\r?\n/)) {
    const value = SECRET_LINE.exec(line)?.[2]
    if (value) found.add(value)
  }
  let doc: unknown
  try {
    doc = parse(text)
  } catch {
    return [...found]
  }
  collect(doc, found, 0)
  return [...found]
}

function collect(node: unknown, found: Set<string>, depth: number): void {
  // A kubeconfig is a few levels deep; the bound only guards against a hostile document.
  if (depth > 32 || node === null || typeof node !== 'object') return
  if (Array.isArray(node)) {
    for (const item of node) collect(item, found, depth + 1)
    return
  }
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (typeof value === 'string' && value !== '' && isSecretKey(key, node as Record<string, unknown>)) found.add(value)
    else collect(value, found, depth + 1)
  }
}

/** A secret key, or the `value` of an exec plugin's `env: [{name, value}]` entry (tokens are passed that way). */
function isSecretKey(key: string, parent: Record<string, unknown>): boolean {
  return SECRET_KEYS.has(key) || (key === 'value' && typeof parent['name'] === 'string')
}
