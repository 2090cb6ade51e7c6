// Shared by the feed and listen tests: a real server in a temp dir, publishing, waiting.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer } from '../../server/serve.ts';
import type { RunningServer, ServerOptions } from '../../server/serve.ts';
import type { HeraldEvent } from '../../events/event.ts';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `herald-${prefix}-`));
}

/** A real server with fast heartbeats and retry, quiet logs. */
export function serve(dataDir: string, options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({ port: 0, dataDir, heartbeatMs: 200, retryMs: 50, webRoot: null, log: () => {}, ...options });
}

export async function publish(baseUrl: string, event: Record<string, unknown>, token?: string): Promise<HeraldEvent> {
  const res = await fetch(`${baseUrl}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(event),
  });
  if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as HeraldEvent;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the condition holds; fails with the description after timeoutMs. */
export async function waitFor(what: string | (() => string), condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(10);
  }
}
