import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server (Postgres here) that a test can cut and restore, to show how a
 * service behaves while its dependency is unreachable, without stopping the shared server itself.
 */
export class TcpProxy {
  readonly #targetHost: string;
  readonly #targetPort: number;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(targetHost: string, targetPort: number) {
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
  }

  #stalled = false;

  /** Starts forwarding (on the same port as before, after a `cut`). */
  async start(): Promise<void> {
    this.#stalled = false;
    const server = createServer((client) => {
      if (this.#stalled) {
        // Accepted, never answered: what a hung server or a black-holed network looks like.
        client.pause();
        this.#sockets.add(client);
        client.on('close', () => this.#sockets.delete(client));
        client.on('error', () => client.destroy());
        return;
      }
      const upstream = createConnection(this.#targetPort, this.#targetHost);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        resolve();
      });
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.#server = server;
  }

  /**
   * Keeps every connection open but passes nothing more either way, and answers no new one: the server
   * hangs (or the network drops packets) rather than refusing. `cut` then `start` restores it.
   */
  stall(): void {
    this.#stalled = true;
    for (const socket of this.#sockets) socket.pause();
  }

  /** Drops every connection and refuses new ones, as if the server had gone away. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  }
}
