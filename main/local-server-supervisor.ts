// Keeps the built-in companion server running: starts it, restarts it with backoff when it
// crashes, stops it on request. No Electron import: how a server process is spawned is passed in
// (utilityProcess in the app, child_process.fork in the tests), so this logic runs under Node.

import type { LocalServerState } from '../bridge/contract.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from '../events/net.ts';
import { backoffCeiling } from '../feed/backoff.ts';

/** Parent → server process. */
export type ToServerMessage = { type: 'start'; options: LocalServerOptions } | { type: 'stop' };

/** Server process → parent. */
export type FromServerMessage = { type: 'ready'; url: string } | { type: 'failed'; message: string };

/** What the app passes to `startServer` in the server process (plain data: it crosses processes). */
export interface LocalServerOptions {
  port: number;
  host: string;
  token?: string;
  webRoot?: string | null;
}

/** One running server process, as the supervisor sees it. */
export interface ServerProcess {
  /** Ask it to close its server and exit; it is killed if it has not exited after a grace period. */
  stop(): void;
}

export interface ServerProcessEvents {
  ready(url: string): void;
  /** The server could not start (port in use, data dir not writable…); an exit follows. */
  failed(message: string): void;
  exited(code: number | null): void;
}

export interface LocalServerSupervisorOptions {
  spawn(events: ServerProcessEvents): ServerProcess;
  onState(state: LocalServerState): void;
  /** First restart delay. Default 1000. */
  minBackoffMs?: number;
  /** Restart delay cap. Default 60000. */
  maxBackoffMs?: number;
  /** A server up this long counts as healthy: the next crash restarts after minBackoffMs again. Default 60000. */
  healthyAfterMs?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

/** The delay before restart number `attempt` (1-based): doubling from min, capped at max. */
export function restartDelay(attempt: number, minMs: number, maxMs: number): number {
  return backoffCeiling(attempt - 1, { minMs, maxMs });
}

export class LocalServerSupervisor {
  readonly #options: Required<Omit<LocalServerSupervisorOptions, 'spawn' | 'onState'>> &
    Pick<LocalServerSupervisorOptions, 'spawn' | 'onState'>;
  #state: LocalServerState = { status: 'off' };
  #wanted = false;
  #process: ServerProcess | null = null;
  #generation = 0;
  #timer: unknown = null;
  #crashes = 0;
  #readyAt = 0;
  #lastError = '';
  /** Resolves when the process spawned last has exited (at once when there is none). */
  #exited: Promise<void> = Promise.resolve();

  constructor(options: LocalServerSupervisorOptions) {
    this.#options = {
      minBackoffMs: 1000,
      maxBackoffMs: 60_000,
      healthyAfterMs: 60_000,
      now: Date.now,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t as NodeJS.Timeout),
      ...options,
    };
  }

  get state(): LocalServerState {
    return this.#state;
  }

  /** Starts the server (no-op when already wanted). */
  start(): void {
    if (this.#wanted) return;
    this.#wanted = true;
    this.#crashes = 0;
    this.#spawn();
  }

  /** Resolves when the current server process has exited; at once when none is running. */
  exited(): Promise<void> {
    return this.#process ? this.#exited : Promise.resolve();
  }

  /** Stops the server and any pending restart. */
  stop(): void {
    this.#wanted = false;
    this.#generation++;
    if (this.#timer !== null) this.#options.clearTimer(this.#timer);
    this.#timer = null;
    this.#process?.stop();
    this.#process = null;
    this.#set({ status: 'off' });
  }

  #set(state: LocalServerState): void {
    this.#state = state;
    this.#options.onState(state);
  }

  #spawn(): void {
    const generation = ++this.#generation;
    const current = () => generation === this.#generation && this.#wanted;
    this.#lastError = '';
    this.#set({ status: 'starting' });
    let exited!: () => void;
    this.#exited = new Promise<void>((resolve) => (exited = resolve));
    this.#process = this.#options.spawn({
      ready: (url) => {
        if (!current()) return;
        this.#readyAt = this.#options.now();
        this.#set({ status: 'running', url });
      },
      failed: (message) => {
        if (current()) this.#lastError = message;
      },
      exited: (code) => {
        exited();
        if (!current()) return;
        this.#process = null;
        const ranFor = this.#readyAt > 0 ? this.#options.now() - this.#readyAt : 0;
        this.#readyAt = 0;
        // A server that stayed up a while crashed once: start the backoff over.
        this.#crashes = ranFor >= this.#options.healthyAfterMs ? 1 : this.#crashes + 1;
        const delay = restartDelay(this.#crashes, this.#options.minBackoffMs, this.#options.maxBackoffMs);
        const error = this.#lastError || `the server process exited (code ${code ?? 'none'})`;
        this.#set({ status: 'crashed', error, nextAttemptAt: this.#options.now() + delay });
        this.#timer = this.#options.setTimer(() => {
          this.#timer = null;
          if (current()) this.#spawn();
        }, delay);
      },
    });
  }
}

/** The port and host the local server binds: the port of a loopback server URL, else DEFAULT_PORT. */
export function localServerAddress(serverUrl: string): { host: string; port: number } {
  try {
    const url = new URL(serverUrl);
    const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
    if (url.protocol === 'http:' && loopback) {
      return { host: url.hostname === '[::1]' ? '::1' : '127.0.0.1', port: url.port ? Number(url.port) : 80 };
    }
  } catch {
    // fall through to the default
  }
  return { host: DEFAULT_HOST, port: DEFAULT_PORT };
}
