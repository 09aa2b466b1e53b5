// Where the registry credentials of the inputs (`registry-username` / `registry-password`) may go: only to the
// registry they were given for — the `registry` input, else the registry of `image` — and never in clear text to a
// host off this machine. A plan stage whose own image lives on another registry gets that registry's own docker
// login, never these. Pure: the decisions only.

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)(:\d+)?$/

/** One registry, whatever name it goes by (Docker Hub has three). */
function canonical(host: string): string {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '')
  return DOCKER_HUB.has(h) ? 'docker.io' : h
}

/** The input credentials may be offered to a registry at `host` (an image reference's registry host). */
export function credentialsMayGoTo(credentialHost: string, host: string): boolean {
  return canonical(credentialHost) === canonical(host)
}

/** A URL on loopback (127.0.0.0/8, ::1, localhost): plain http there never leaves the machine. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const u = new URL(url)
    return LOOPBACK.test(u.hostname) || LOOPBACK.test(u.host)
  } catch {
    return false
  }
}

/** Why credentials must not be sent to `url` (plain http off loopback), or undefined when they may. */
export function clearTextRefusal(url: string): string | undefined {
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    return `${url} is not a URL`
  }
  if (protocol === 'https:' || isLoopbackUrl(url)) return undefined
  return `not sending registry credentials over plain HTTP to ${new URL(url).host}: they would cross the network in clear text. Serve the registry over https (with registry-ca for a private CA), or leave the credentials out for an anonymous pull`
}
