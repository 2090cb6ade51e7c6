// Runs the real CLI (`node bin/herald.js …`) as a child process against a real server on an
// ephemeral port with its SQLite log in a temp dir.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HeraldEvent } from '../../events/event.ts';
import { startServer } from '../../server/serve.ts';
import type { RunningServer, ServerOptions } from '../../server/serve.ts';

export const HERALD_BIN = fileURLToPath(new URL('../../bin/herald.js', import.meta.url));

export interface HeraldResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

export interface HeraldProcess {
  child: ChildProcess;
  result: Promise<HeraldResult>;
  stdoutText(): string;
  stderrText(): string;
}

const running = new Set<ChildProcess>();

/** The environment without the user's own HERALD_* settings, plus what the test sets. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return { ...env, ...extra };
}

/** Starts herald; `detached` puts it in its own session (no terminal), as a service manager would. */
export function startHerald(
  args: string[],
  options: { env?: Record<string, string>; input?: string | Buffer; detached?: boolean; nodeArgs?: string[] } = {},
): HeraldProcess {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), HERALD_BIN, ...args], {
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  running.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  if (options.input !== undefined) child.stdin!.end(options.input);
  const result = new Promise<HeraldResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
  return { child, result, stdoutText: () => Buffer.concat(out).toString('utf8'), stderrText: () => Buffer.concat(err).toString('utf8') };
}

/** Runs herald to its end; stdin is closed at once unless input is given. */
export function herald(args: string[], options: { env?: Record<string, string>; input?: string | Buffer } = {}): Promise<HeraldResult> {
  return startHerald(args, { ...options, input: options.input ?? '' }).result;
}

/** Kills whatever a failed test left running (and the process group of detached ones). */
export function killLeftovers(): void {
  for (const child of running) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
  running.clear();
}

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  events(query?: string): Promise<HeraldEvent[]>;
  waitFor(predicate: (events: HeraldEvent[]) => boolean, what: string): Promise<HeraldEvent[]>;
  close(): Promise<void>;
}

export async function testServer(options: ServerOptions = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-cli-test-'));
  const server = await startServer({ port: 0, dataDir, webRoot: null, log: () => {}, ...options });
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const events = async (query = 'after=0&limit=1000') => {
    const res = await fetch(`${server.url}/history?${query}`, { headers });
    if (res.status !== 200) throw new Error(`/history answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { events: HeraldEvent[] }).events;
  };
  return {
    server,
    url: server.url,
    dataDir,
    events,
    async waitFor(predicate, what) {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const list = await events();
        if (predicate(list)) return list;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; have ${JSON.stringify(list)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A loopback URL where nothing listens: a port that was just free. */
export async function deadServerUrl(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Lines of herald's own messages on stderr. */
export function heraldLines(stderr: Buffer): string[] {
  return stderr
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('herald'));
}
