import net from 'node:net'

/**
 * A TCP proxy in front of a database server that a test can cut: `cut()` drops every connection
 * going through it and refuses new ones until `restore()`, as a server restart or a network
 * failure would.
 */
export class CuttableProxy {
  port = 0
  private readonly sockets = new Set<net.Socket>()
  private refusing = false
  private readonly server = net.createServer((client) => {
    if (this.refusing) return client.destroy()
    const upstream = net.connect(this.target.port, this.target.host)
    for (const socket of [client, upstream]) {
      this.sockets.add(socket)
      socket.on('error', () => undefined)
      socket.on('close', () => {
        this.sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })

  constructor(private readonly target: {host: string; port: number}) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as net.AddressInfo).port
    return this
  }

  /** Drop every connection, and refuse new ones until restore(). */
  cut(): void {
    this.refusing = true
    for (const socket of this.sockets) socket.destroy()
  }

  restore(): void {
    this.refusing = false
  }

  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string {
    const parsed = new URL(url)
    parsed.hostname = '127.0.0.1'
    parsed.port = String(this.port)
    return parsed.toString()
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise((resolve) => this.server.close(resolve))
  }
}
