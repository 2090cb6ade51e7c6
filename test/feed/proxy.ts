// A TCP proxy for fault tests: sits between the feed client and the server so the client's URL
// stays fixed while the test cuts, resets, stalls and slices its connections, refuses new ones,
// points it at another server, or loses the server's answers to requests it did forward.
import * as net from 'node:net';

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  stalled: boolean;
}

export class FaultProxy {
  readonly #server: net.Server;
  #targetPort: number;
  #pairs = new Set<Pair>();
  #refusing = false;
  #slicing = false;
  #replayAll = false;
  #lostAnswers: Array<'reset' | 'stall'> = [];
  /** Connections accepted since the start (refused ones included). */
  accepted = 0;
  /** Answers passed on to the client since the start (lost ones not included; see loseAnswers). */
  answers = 0;

  private constructor(targetPort: number) {
    this.#targetPort = targetPort;
    this.#server = net.createServer((client) => this.#accept(client));
  }

  static async start(targetPort: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get open(): number {
    return this.#pairs.size;
  }

  /** New connections go to this port from now on. */
  setTarget(port: number): void {
    this.#targetPort = port;
  }

  /** Accept new connections and reset them at once (the server looks unreachable). */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /**
   * Rewrite the cursor of every request sent from now on to 0 (the Last-Event-ID header and a
   * lastEventId= query), so that the server replays everything it keeps, as a broken server or a
   * proxy that drops the header would.
   */
  replayAll(on: boolean): void {
    this.#replayAll = on;
  }

  /** Forward server→client data one byte per write, each after the previous one is flushed. */
  slice(on: boolean): void {
    this.#slicing = on;
  }

  /** Ends every connection cleanly (FIN to the client). */
  cutAll(): void {
    for (const pair of this.#pairs) {
      pair.upstream.destroy();
      pair.client.end();
    }
  }

  /** Resets every connection (RST to the client). */
  resetAll(): void {
    for (const pair of this.#pairs) {
      pair.upstream.destroy();
      pair.client.resetAndDestroy();
    }
  }

  /**
   * The next `count` answers from the server (an answer starts with the first bytes the server
   * sends after the client sent something, on any connection, kept-alive ones included) are lost:
   * dropped with the client's connection reset ('reset'), or left open and silent ('stall'). The
   * request itself went through whole, so the server did the work; only the client does not know.
   */
  loseAnswers(count: number, how: 'reset' | 'stall'): void {
    for (let i = 0; i < count; i++) this.#lostAnswers.push(how);
  }

  /** Stops forwarding server→client on current connections: the stream goes silent but stays open. */
  stallAll(): void {
    for (const pair of this.#pairs) pair.stalled = true;
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) {
      pair.upstream.destroy();
      pair.client.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    this.accepted++;
    if (this.#refusing) {
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = net.connect(this.#targetPort, '127.0.0.1');
    const pair: Pair = { client, upstream, stalled: false };
    this.#pairs.add(pair);
    let sending: Promise<void> = Promise.resolve();
    let asked = false;
    upstream.on('data', (chunk: Buffer) => {
      if (asked) {
        asked = false;
        const lose = this.#lostAnswers.shift();
        if (lose === 'reset') {
          upstream.destroy();
          client.resetAndDestroy();
          return;
        }
        if (lose === 'stall') pair.stalled = true;
        else this.answers++;
      }
      if (pair.stalled) return;
      if (!this.#slicing) {
        sending = sending.then(() => void client.write(chunk));
        return;
      }
      sending = sending.then(async () => {
        for (let i = 0; i < chunk.length && !client.destroyed; i++) {
          await new Promise<void>((resolve) => client.write(chunk.subarray(i, i + 1), () => resolve()));
        }
      });
    });
    client.on('data', (chunk: Buffer) => {
      asked = true;
      upstream.write(this.#replayAll ? cursorAtZero(chunk) : chunk);
    });
    const finish = () => {
      this.#pairs.delete(pair);
      upstream.destroy();
      client.destroy();
    };
    upstream.on('end', () => void sending.then(() => client.end()));
    upstream.on('error', finish);
    upstream.on('close', () => void sending.then(() => this.#pairs.delete(pair)));
    client.on('error', finish);
    client.on('close', finish);
  }
}

/** A request head with its cursor set to 0 (a head arrives whole on loopback: it is one small write). */
function cursorAtZero(chunk: Buffer): Buffer {
  const head = chunk.toString('latin1');
  const rewritten = head
    .replace(/^(last-event-id:)[ \t]*\d+/gim, (_, name: string) => `${name} 0`)
    .replace(/([?&]lastEventId=)\d+/g, (_, name: string) => `${name}0`);
  return rewritten === head ? chunk : Buffer.from(rewritten, 'latin1');
}
