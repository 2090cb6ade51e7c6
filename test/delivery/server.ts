// The real server the delivery scenarios run against, behind a FaultProxy so that the host's URL
// stays the same while the test stops, restarts, wipes or silences the server. Node: both runners
// (vitest for the feed client, Playwright for the web bridge) start it in their own process.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type RunningServer } from '../../server/serve.ts';
import type { HeraldEvent } from '../../events/event.ts';
import { FaultProxy } from '../feed/proxy.ts';

export interface DeliveryServerOptions {
  /** Every request must carry this token. Default: none. */
  token?: string;
  /** The server keeps only the newest this many events (older ones become a gap). */
  maxEvents?: number;
  /** The server's heartbeat interval: a host gives up on a stream silent for three of them. */
  heartbeatMs: number;
}

export class DeliveryServer {
  readonly #dataDir: string;
  readonly #options: DeliveryServerOptions;
  readonly #proxy: FaultProxy;
  #running: RunningServer | null;
  readonly #port: number;

  private constructor(dataDir: string, options: DeliveryServerOptions, running: RunningServer, proxy: FaultProxy) {
    this.#dataDir = dataDir;
    this.#options = options;
    this.#running = running;
    this.#port = running.port;
    this.#proxy = proxy;
  }

  static async start(options: DeliveryServerOptions): Promise<DeliveryServer> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-delivery-'));
    const running = await startServer({ ...DeliveryServer.#serverOptions(dataDir, options), port: 0 });
    const proxy = await FaultProxy.start(running.port);
    return new DeliveryServer(dataDir, options, running, proxy);
  }

  /** The address the host follows: the proxy's, the same across restarts. */
  get url(): string {
    return this.#proxy.url;
  }

  /** Connections the host opened so far (a reconnection is one more). */
  get connections(): number {
    return this.#proxy.accepted;
  }

  /** Publishes one event titled `title` (with the token, if any), to the running server or `to`. */
  async publish(title: string, to = this.#running?.url): Promise<HeraldEvent> {
    if (!to) throw new Error('the server is stopped: publish while down with publishWhileDown()');
    const headers = {
      'Content-Type': 'application/json',
      ...(this.#options.token ? { Authorization: `Bearer ${this.#options.token}` } : {}),
    };
    const res = await fetch(`${to}/events`, { method: 'POST', headers, body: JSON.stringify({ title, topic: 'delivery' }) });
    if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as HeraldEvent;
  }

  /** Publishes while the host's server is down: to a second instance on the same data dir. */
  async publishWhileDown(titles: string[]): Promise<HeraldEvent[]> {
    if (this.#running) throw new Error('stop the server first');
    const second = await startServer({ ...DeliveryServer.#serverOptions(this.#dataDir, this.#options), port: 0 });
    try {
      const published: HeraldEvent[] = [];
      for (const title of titles) published.push(await this.publish(title, second.url));
      return published;
    } finally {
      await second.close();
    }
  }

  /** Closes the server: its streams end and new connections are refused. */
  async stop(): Promise<void> {
    await this.#running?.close();
    this.#running = null;
  }

  /** Starts it again on the same port and data dir. */
  async restart(): Promise<void> {
    if (this.#running) return;
    this.#running = await startServer({ ...DeliveryServer.#serverOptions(this.#dataDir, this.#options), port: this.#port });
  }

  /** Empties the data dir of the stopped server: the next start makes a new log (a new epoch). */
  wipe(): void {
    if (this.#running) throw new Error('stop the server before wiping its data dir');
    for (const name of fs.readdirSync(this.#dataDir)) fs.rmSync(path.join(this.#dataDir, name), { recursive: true, force: true });
  }

  /** From now on the server replays everything it keeps, whatever cursor the host sends. */
  replayEverything(): void {
    this.#proxy.replayAll(true);
  }

  /** Ends every open connection cleanly: the host reconnects. */
  cut(): void {
    this.#proxy.cutAll();
  }

  /** Open streams stay open and carry nothing more: what sleep or a dropped network looks like. */
  silence(): void {
    this.#proxy.stallAll();
  }

  async dispose(): Promise<void> {
    await this.#proxy.close();
    await this.stop();
    fs.rmSync(this.#dataDir, { recursive: true, force: true });
  }

  static #serverOptions(dataDir: string, options: DeliveryServerOptions) {
    return {
      dataDir,
      webRoot: null,
      log: () => {},
      heartbeatMs: options.heartbeatMs,
      retryMs: 50,
      ...(options.token ? { token: options.token } : {}),
      ...(options.maxEvents ? { retention: { maxEvents: options.maxEvents } } : {}),
    };
  }
}
