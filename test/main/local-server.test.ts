// The local companion server's supervision: the restart backoff (pure, with a fake clock), and the
// real server process entry (forked with Node instead of Electron's utilityProcess) killed hard and
// brought back.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalServerState } from '../../bridge/contract.ts';
import { localServerAddress, LocalServerSupervisor, restartDelay, type ServerProcessEvents } from '../../main/local-server-supervisor.ts';
import { forkServerProcess, killServerProcesses, tempDir, until } from './platform-double.ts';

describe('restartDelay', () => {
  it('doubles from the minimum and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => restartDelay(n, 1000, 60_000))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000,
    ]);
    expect(restartDelay(10_000, 1000, 60_000)).toBe(60_000);
    expect(restartDelay(0, 1000, 60_000)).toBe(1000);
  });
});

describe('localServerAddress', () => {
  it("binds the port of a loopback server address, else Herald's default", () => {
    expect(localServerAddress('http://127.0.0.1:5999')).toEqual({ host: '127.0.0.1', port: 5999 });
    expect(localServerAddress('http://localhost:6000')).toEqual({ host: '127.0.0.1', port: 6000 });
    expect(localServerAddress('http://[::1]:6001')).toEqual({ host: '::1', port: 6001 });
    expect(localServerAddress('https://herald.example.test')).toEqual({ host: '127.0.0.1', port: 5080 });
    expect(localServerAddress('not a url')).toEqual({ host: '127.0.0.1', port: 5080 });
  });
});

/** A fake clock and a fake process the test crashes at will. */
function harness() {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const states: LocalServerState[] = [];
  const spawned: ServerProcessEvents[] = [];
  let stops = 0;
  const supervisor = new LocalServerSupervisor({
    spawn: (events) => {
      spawned.push(events);
      return { stop: () => void stops++ };
    },
    onState: (s) => states.push(s),
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => timers.splice(timers.indexOf(t as (typeof timers)[number]), 1),
  });
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.filter((x) => x.at <= now)) {
      timers.splice(timers.indexOf(t), 1);
      t.fn();
    }
  };
  return { supervisor, states, spawned, timers, advance, stops: () => stops, setNow: (t: number) => void (now = t), now: () => now };
}

describe('LocalServerSupervisor', () => {
  it('restarts a crashing server with growing delays and reports each crash', () => {
    const h = harness();
    h.supervisor.start();
    expect(h.states.at(-1)).toEqual({ status: 'starting' });
    h.spawned[0]!.ready('http://127.0.0.1:5080');
    expect(h.states.at(-1)).toEqual({ status: 'running', url: 'http://127.0.0.1:5080' });

    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const proc = h.spawned.at(-1)!;
      if (i > 0) proc.failed('Port 5080 is already in use');
      proc.exited(1);
      const crashed = h.states.at(-1)!;
      expect(crashed.status).toBe('crashed');
      if (crashed.status !== 'crashed') return;
      expect(crashed.error).toBe(i === 0 ? 'the server process exited (code 1)' : 'Port 5080 is already in use');
      delays.push(crashed.nextAttemptAt! - h.now());
      h.advance(crashed.nextAttemptAt! - h.now() - 1);
      expect(h.spawned).toHaveLength(i + 1); // not before its time
      h.advance(1);
      expect(h.spawned).toHaveLength(i + 2);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
  });

  it('starts the backoff over after a server stayed up for a while', () => {
    const h = harness();
    h.supervisor.start();
    h.spawned[0]!.exited(1);
    h.advance(1000);
    h.spawned[1]!.exited(1);
    h.advance(2000);
    h.spawned[2]!.ready('http://127.0.0.1:5080');
    h.advance(60_000);
    h.spawned[2]!.exited(null);
    const s = h.states.at(-1)!;
    expect(s.status === 'crashed' && s.nextAttemptAt! - h.now()).toBe(1000);
  });

  it('stop cancels a pending restart and ignores the old process', () => {
    const h = harness();
    h.supervisor.start();
    const first = h.spawned[0]!;
    first.exited(1);
    expect(h.timers).toHaveLength(1);
    h.supervisor.stop();
    expect(h.timers).toHaveLength(0);
    expect(h.states.at(-1)).toEqual({ status: 'off' });
    first.ready('http://127.0.0.1:1'); // late news from a process we no longer want
    h.advance(120_000);
    expect(h.spawned).toHaveLength(1);
    expect(h.supervisor.state).toEqual({ status: 'off' });
  });

  it('stop asks the running process to stop', () => {
    const h = harness();
    h.supervisor.start();
    h.spawned[0]!.ready('http://127.0.0.1:5080');
    h.supervisor.stop();
    expect(h.stops()).toBe(1);
  });
});

describe('the server process entry (real server, Node fork)', () => {
  let dir: string | undefined;
  afterEach(async () => {
    await killServerProcesses();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves, is brought back after a hard kill, and keeps its events across the restart', async () => {
    dir = tempDir('herald-local-server-');
    const env = { HERALD_DATA_DIR: path.join(dir, 'data') };
    const states: LocalServerState[] = [];
    let current: ReturnType<typeof forkServerProcess> | undefined;
    // Port 0 gives each process a new port; the events live in the shared data dir.
    const supervisor = new LocalServerSupervisor({
      spawn: (events) => (current = forkServerProcess({ host: '127.0.0.1', port: 0, webRoot: null }, events, env)),
      onState: (s) => states.push(s),
      minBackoffMs: 50,
    });
    try {
      supervisor.start();
      const first = await until(
        () => (supervisor.state.status === 'running' ? supervisor.state.url : undefined),
        15_000,
        'the first server',
      );
      const res = await fetch(`${first}/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: 'kept' }),
      });
      expect(res.status).toBe(201);

      current!.child.kill('SIGKILL');
      await until(() => states.some((s) => s.status === 'crashed'), 10_000, 'the crash to be seen');
      const second = await until(
        () => (supervisor.state.status === 'running' && supervisor.state.url !== first ? supervisor.state.url : undefined),
        15_000,
        'the restarted server',
      );
      const history = (await (await fetch(`${second}/history`)).json()) as { events: { title: string }[] };
      expect(history.events.map((e) => e.title)).toEqual(['kept']);
      expect(states.map((s) => s.status)).toEqual(['starting', 'running', 'crashed', 'starting', 'running']);

      const child = current!.child;
      const exited = new Promise((r) => child.once('exit', r));
      supervisor.stop();
      await exited;
      expect(child.exitCode).toBe(0); // closed cleanly on request, not killed
    } finally {
      supervisor.stop();
    }
  });

  it('reports a port that is taken as a reason a person can act on', async () => {
    dir = tempDir('herald-local-server-');
    const env = { HERALD_DATA_DIR: path.join(dir, 'data') };
    {
      const failures: string[] = [];
      const ready = new Promise<string>((resolve) => {
        forkServerProcess(
          { host: '127.0.0.1', port: 0, webRoot: null },
          { ready: resolve, failed: () => undefined, exited: () => undefined },
          env,
        );
      });
      const url = await ready;
      const exit = new Promise<number | null>((resolve) => {
        // Its own data directory: on the same one, the first server's lock on it would be the reason given.
        forkServerProcess(
          { host: '127.0.0.1', port: Number(new URL(url).port), webRoot: null },
          { ready: () => undefined, failed: (m) => failures.push(m), exited: resolve },
          { HERALD_DATA_DIR: path.join(dir!, 'data2') },
        );
      });
      expect(await exit).toBe(1);
      expect(failures).toEqual([
        `Port ${new URL(url).port} is already in use: stop the other server there, or change the server address in the settings`,
      ]);
    }
  });
});
