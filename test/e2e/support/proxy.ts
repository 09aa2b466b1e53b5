// A loopback TCP proxy in front of the apiserver, so a test can cut every connection (watches, log streams) in the
// middle of a release and prove the verdict and the counts survive.
import { type Server, type Socket, createConnection, createServer } from 'node:net'

export interface CuttableProxy {
  port: number
  /** Destroys every open connection (both sides); new connections are still accepted. */
  cutAll(): number
  close(): Promise<void>
}

export async function startProxy(targetHost: string, targetPort: number): Promise<CuttableProxy> {
  const open = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort })
    open.add(client)
    open.add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('proxy did not get a port')
  return {
    port: address.port,
    cutAll: () => {
      const n = open.size
      for (const s of open) s.destroy()
      open.clear()
      return n
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      })
  }
}

/** The bed's kubeconfig with its server address pointed at the proxy (the certificate is valid for 127.0.0.1). */
export function viaProxy(kubeconfigYaml: string, port: number): string {
  return kubeconfigYaml.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`)
}
