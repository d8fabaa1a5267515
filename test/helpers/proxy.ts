import net from 'node:net'

/**
 * A TCP proxy in front of a database server that a test can cut: `cut()` drops every connection
 * going through it and refuses new ones until `restore()`, as a server restart or a network
 * failure would; `stall()` lets nothing through either way, and takes new connections without ever
 * answering, as a server that hangs (or a network that drops packets) would.
 */
export class CuttableProxy {
  port = 0
  /** The connections refused while cut: the clients' tries to reconnect. */
  refused = 0
  private readonly sockets = new Set<net.Socket>()
  /** Connections taken while stalled, never answered. */
  private readonly held = new Set<net.Socket>()
  private refusing = false
  private stalled = false
  private readonly server = net.createServer((client) => {
    if (this.refusing) {
      this.refused++
      return client.destroy()
    }
    if (this.stalled) return this.hold(client)
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
    for (const socket of [...this.sockets, ...this.held]) socket.destroy()
  }

  /** Nothing through, either way, on the connections open and on new ones, until restore(). */
  stall(): void {
    this.stalled = true
    for (const socket of this.sockets) socket.pause()
  }

  restore(): void {
    this.refusing = false
    this.stalled = false
    for (const socket of this.sockets) socket.resume()
    for (const socket of this.held) socket.destroy()
  }

  /** A connection taken while stalled: held, never answered; dropped on restore (its client gave up by then). */
  private hold(client: net.Socket): void {
    this.held.add(client)
    client.on('error', () => undefined)
    client.on('close', () => this.held.delete(client))
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
