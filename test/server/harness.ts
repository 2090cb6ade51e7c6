// Shared setup for the server tests: a real server on an ephemeral port over a real SQLite file
// in a temp dir, and small clients (fetch, the eventsource package, a raw stream reader).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { afterEach } from 'vitest';
import { isHeraldEvent, type HeraldEvent } from '../../events/event.ts';
import { isHistoryPage, type HistoryPage } from '../../events/http.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../server/serve.ts';
import { SqliteStore } from '../../server/sqlite-store.ts';
import type { EventStore } from '../../server/store.ts';

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  lines: string[];
  /** Closes the server (if still open) and removes the data dir. */
  cleanup(): Promise<void>;
}

export function tempDir(prefix = 'herald-server-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * For a test file that starts server processes and makes data dirs of its own: after each test,
 * every child still running is killed and every dir made through `tempDir()` removed.
 */
export function processesAndDirs(prefix?: string): { children: Set<ChildProcess>; tempDir(): string } {
  const children = new Set<ChildProcess>();
  const dirs: string[] = [];
  afterEach(() => {
    for (const child of children) child.kill('SIGKILL');
    children.clear();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    children,
    tempDir() {
      const dir = tempDir(prefix);
      dirs.push(dir);
      return dir;
    },
  };
}

export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const lines: string[] = [];
  const server = await startServer({
    port: 0,
    webRoot: null,
    publishRate: { capacity: Infinity, refillPerSecond: Infinity },
    log: (line) => lines.push(line),
    ...options,
    dataDir,
  });
  return {
    server,
    url: server.url,
    dataDir,
    lines,
    async cleanup() {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The SQLite store, with every read's answer held back for holdMs after the read was made (as a networked store's arrive late). */
export function lateReadingStore(holdMs: number): EventStore {
  const store = new SqliteStore({ dataDir: tempDir() });
  const readAfter = store.readAfter.bind(store);
  store.readAfter = async (afterId, options) => {
    const page = await readAfter(afterId, options);
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    return page;
  };
  return store;
}

export async function publish(url: string, event: Record<string, unknown>, headers: Record<string, string> = {}): Promise<HeraldEvent> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(event),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${text}`);
  return JSON.parse(text) as HeraldEvent;
}

/** GET /history, read as the web app reads it: a HistoryPage (events/http.ts) or a thrown error. */
export async function history(url: string, query = 'after=0&limit=1000', headers: Record<string, string> = {}): Promise<HistoryPage> {
  const res = await fetch(`${url}/history?${query}`, { headers });
  if (res.status !== 200) throw new Error(`history answered ${res.status}: ${await res.text()}`);
  const page: unknown = await res.json();
  if (!isHistoryPage(page) || !page.events.every(isHeraldEvent))
    throw new Error(`history answered 200 with no HistoryPage: ${JSON.stringify(page)}`);
  return page;
}

export interface Received {
  type: string;
  lastEventId: string;
  data: string;
}

/** An eventsource client that records every event of the given types. */
export function listen(url: string, options: { types?: string[]; headers?: Record<string, string> } = {}) {
  const received: Received[] = [];
  const errors: unknown[] = [];
  let opens = 0;
  const headers = options.headers ?? {};
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
  });
  for (const type of options.types ?? ['notification']) {
    source.addEventListener(type, (event) => received.push({ type: event.type, lastEventId: event.lastEventId, data: event.data }));
  }
  source.addEventListener('open', () => {
    opens += 1;
  });
  source.addEventListener('error', (error) => errors.push(error));
  return {
    source,
    received,
    errors,
    get opens() {
      return opens;
    },
    events(): HeraldEvent[] {
      return received.map((r) => JSON.parse(r.data) as HeraldEvent);
    },
    close() {
      source.close();
    },
  };
}

export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Reads a response body as text as it arrives (raw bytes, comments included). */
export async function rawStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  let text = '';
  let ended = false;
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const pump = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // aborted by close()
    }
    ended = true;
  })();
  return {
    res,
    get text() {
      return text;
    },
    get ended() {
      return ended;
    },
    async close() {
      controller.abort();
      await pump;
    },
  };
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** What the server logged so far (its log lines go to stderr). */
  stderr(): string;
}

const SERVE_CHILD = fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url));

/** A Herald server in a process of its own (test/server/fixtures/serve-child.ts), for tests that kill it. */
export async function spawnServerProcess(dataDir: string, children: Set<ChildProcess>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [SERVE_CHILD, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`server child exited (${code}): ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

/** kill -9, and wait until the process is gone. */
export function killHard(child: ChildProcess, children?: Set<ChildProcess>): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => {
      children?.delete(child);
      resolve();
    });
    child.kill('SIGKILL');
  });
}
