import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { herald, killLeftovers, startHerald, testServer } from './harness.ts';
import type { HeraldProcess } from './harness.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-cli-serve-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  killLeftovers();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Waits for the URL line on stdout and returns it. */
async function listeningUrl(p: HeraldProcess): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const match = /^(http:\/\/\S+)\n/.exec(p.stdoutText());
    if (match) return match[1]!;
    if (p.child.exitCode !== null || Date.now() > deadline) throw new Error(`herald serve did not start: ${p.stdoutText()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('herald serve', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`answers /health, keeps what is published, and exits 0 on ${signal}`, async () => {
      const dataDir = tempDir();
      const p = startHerald(['serve', '--port', '0', '--data-dir', dataDir]);
      const url = await listeningUrl(p);
      expect(p.stdoutText()).toBe(`${url}\n`);
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      const sent = await herald(['send', '--server', url, 'stored before the stop']);
      expect(sent.code).toBe(0);
      p.child.kill(signal);
      const r = await p.result;
      expect(r.code).toBe(0);
      expect(fs.readdirSync(dataDir).length).toBeGreaterThan(0);

      // The same data dir, served again, still has the event.
      const again = startHerald(['serve', '--port', '0'], { env: { HERALD_DATA_DIR: dataDir } });
      const url2 = await listeningUrl(again);
      const history = (await (await fetch(`${url2}/history?after=0`)).json()) as { events: Array<{ body?: string }> };
      expect(history.events.map((e) => e.body)).toEqual(['stored before the stop']);
      again.child.kill('SIGTERM');
      expect((await again.result).code).toBe(0);
    });
  }

  it('stops cleanly (exit 0) on a SIGTERM sent the moment its address is printed', async () => {
    // Whoever reads the address may stop the server at once (a script, a service manager). Before
    // the stop signals were taken ahead of printing it, about half of these starts died of the
    // signal (exit code null) instead of closing.
    // Six side by side: one after the other took over 30 s on a loaded machine.
    const results = await Promise.all(
      Array.from({ length: 6 }, () => {
        const p = startHerald(['serve', '--port', '0', '--data-dir', tempDir()]);
        p.child.stdout!.on('data', () => {
          if (/^http:\/\/\S+\n/.test(p.stdoutText())) p.child.kill('SIGTERM');
        });
        return p.result;
      }),
    );
    for (const [i, r] of results.entries()) {
      expect({ start: i, code: r.code, signal: r.signal }).toEqual({ start: i, code: 0, signal: null });
      expect(r.stderr.toString()).toContain('server stopped');
    }
  }, 60_000);

  it('prints its address once per stream: the bare URL on stdout, the log line on stderr', async () => {
    const dataDir = tempDir();
    const p = startHerald(['serve', '--port', '0', '--data-dir', dataDir]);
    const url = await listeningUrl(p);
    p.child.kill('SIGTERM');
    const r = await p.result;
    expect(r.stdout.toString()).toBe(`${url}\n`);
    const stderr = r.stderr
      .toString()
      .split('\n')
      .filter((l) => l !== '');
    const listening = stderr.filter((l) => l.includes('listening on'));
    expect(listening).toHaveLength(1);
    expect(listening[0]).toContain(url);
    expect(listening[0]).toContain(dataDir);
    // on a terminal both streams show: no sentence appears twice
    const all = [...r.stdout.toString().split('\n'), ...stderr].filter((l) => l !== '').map((l) => l.replace(/^\S+Z /, ''));
    expect(new Set(all).size).toBe(all.length);
  });

  it('requires the token from --token on every route but /health', async () => {
    const p = startHerald(['serve', '--port', '0', '--data-dir', tempDir(), '--token', 'tok']);
    const url = await listeningUrl(p);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/history`)).status).toBe(401);
    expect((await fetch(`${url}/history`, { headers: { authorization: 'Bearer tok' } })).status).toBe(200);
    p.child.kill('SIGTERM');
    expect((await p.result).code).toBe(0);
  });

  it('says so when the port is taken (exit 1)', async () => {
    const busy = await testServer();
    try {
      const r = await herald(['serve', '--port', String(busy.server.port), '--data-dir', tempDir()]);
      expect(r.code).toBe(1);
      expect(r.stderr.toString()).toContain(`port ${busy.server.port} on 127.0.0.1 is already in use`);
    } finally {
      await busy.close();
    }
  });

  it('refuses an empty token, from --token or from HERALD_TOKEN, instead of running without auth', async () => {
    const flag = await herald(['serve', '--port', '0', '--data-dir', tempDir(), '--token', '']);
    expect(flag.code).toBe(2);
    expect(flag.stderr.toString()).toContain('herald serve: the token is empty: set a value, or drop --token to run without one');
    expect(flag.stdout.toString()).toBe('');
    const env = await herald(['serve', '--port', '0', '--data-dir', tempDir()], { env: { HERALD_TOKEN: '' } });
    expect(env.code).toBe(2);
    expect(env.stderr.toString()).toContain(
      'herald serve: the token is empty (HERALD_TOKEN is set to ""): set a value, or unset HERALD_TOKEN to run without one',
    );
    expect(env.stdout.toString()).toBe('');
    const spaced = await herald(['serve', '--port', '0', '--data-dir', tempDir(), '--token', 'two words']);
    expect(spaced.code).toBe(2);
    expect(spaced.stderr.toString()).toContain('--token: the token contains white space');
  });

  it("a second herald serve on the same data directory refuses to start, naming the directory and the first one's pid", async () => {
    const dataDir = tempDir();
    const first = startHerald(['serve', '--port', '0', '--data-dir', dataDir]);
    const url = await listeningUrl(first);
    const second = await herald(['serve', '--port', '0', '--data-dir', dataDir]);
    expect(second.code).toBe(1);
    expect(second.stdout.toString()).toBe('');
    expect(second.stderr.toString()).toContain(
      `herald: the data directory ${dataDir} is in use by another Herald server (pid ${first.child.pid}, since `,
    );
    expect((await fetch(`${url}/health`)).status).toBe(200);
    first.child.kill('SIGKILL');
    await first.result;
    // kill -9 leaves no stale lock behind: the OS dropped it with the process.
    const third = startHerald(['serve', '--port', '0', '--data-dir', dataDir]);
    await listeningUrl(third);
    third.child.kill('SIGTERM');
    expect((await third.result).code).toBe(0);
  });

  it('says what is wrong with the data directory or herald.db in words, and starts a new log only with --new-log', async () => {
    const parent = tempDir();
    const file = path.join(parent, 'file');
    fs.writeFileSync(file, 'x');
    const onFile = await herald(['serve', '--port', '0', '--data-dir', file]);
    expect(onFile.code).toBe(1);
    expect(onFile.stderr.toString()).toBe(
      `herald: the data directory is a file: ${file}. Move the file away, or pick another with --data-dir (or HERALD_DATA_DIR).\n`,
    );

    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, 'herald.db'), '');
    const empty = await herald(['serve', '--port', '0', '--data-dir', dataDir]);
    expect(empty.code).toBe(1);
    expect(empty.stderr.toString()).toContain(`herald: the event log ${path.join(dataDir, 'herald.db')} is empty (0 bytes)`);
    expect(empty.stderr.toString()).toContain('--new-log');
    const fresh = startHerald(['serve', '--port', '0', '--data-dir', dataDir, '--new-log']);
    const url = await listeningUrl(fresh);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    fresh.child.kill('SIGTERM');
    const r = await fresh.result;
    expect(r.code).toBe(0);
    expect(r.stderr.toString()).toContain('started a new, empty log as asked (--new-log)');
    expect(fs.readdirSync(dataDir).some((name) => name.startsWith('herald.db.broken-'))).toBe(true);
  });

  it('bound off loopback without a token: warns that any web page could reach it, and still refuses other names in Host', async () => {
    const p = startHerald(['serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', tempDir(), '--allowed-host', 'Herald.Example.com']);
    const url = (await listeningUrl(p)).replace('0.0.0.0', '127.0.0.1');
    const ask = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(url);
        http
          .get({ host: u.hostname, port: u.port, path: '/history', headers: { Host: host }, setHost: false }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          })
          .on('error', reject);
      });
    expect(await ask('evil.test')).toBe(403);
    expect(await ask('herald.example.com')).toBe(200);
    p.child.kill('SIGTERM');
    const r = await p.result;
    expect(r.code).toBe(0);
    expect(r.stderr.toString()).toContain('WITHOUT A TOKEN');
    expect(r.stderr.toString()).toContain('and so could any web page you visit, through your browser.');
  });

  it('refuses bad flags with exit 2', async () => {
    // Side by side: six CLI start-ups one after another took up to 27 s of the 30 s limit on a loaded CI machine.
    const cases = [
      ['--port', '99999'],
      ['--port', 'http'],
      ['--retention-days', '-1'],
      ['--retention-events', '0'],
      ['--allow-origin', 'not a url'],
      ['--verbose'],
    ];
    const results = await Promise.all(cases.map((args) => herald(['serve', '--data-dir', tempDir(), ...args])));
    for (const [i, r] of results.entries()) {
      expect(r.code, cases[i]!.join(' ')).toBe(2);
      expect(r.stderr.toString(), cases[i]!.join(' ')).toContain('herald serve: ');
    }
  });

  it('opens the CI hook endpoints with --github-secret and HERALD_GITLAB_TOKEN, and keeps them closed without', async () => {
    const p = startHerald(['serve', '--port', '0', '--data-dir', tempDir(), '--github-secret', 's3cret'], {
      env: { HERALD_GITLAB_TOKEN: 'gl-token' },
    });
    const url = await listeningUrl(p);
    const ping = { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-github-event': 'ping' } };
    // Reachable and checking signatures (401), not closed (404).
    expect((await fetch(`${url}/hooks/github`, ping)).status).toBe(401);
    expect(
      (await fetch(`${url}/hooks/gitlab`, { ...ping, headers: { 'x-gitlab-token': 'gl-token', 'content-type': 'application/json' } }))
        .status,
    ).toBe(202);
    p.child.kill('SIGTERM');
    expect((await p.result).code).toBe(0);

    const closed = startHerald(['serve', '--port', '0', '--data-dir', tempDir()]);
    const closedUrl = await listeningUrl(closed);
    expect((await fetch(`${closedUrl}/hooks/github`, ping)).status).toBe(404);
    expect((await fetch(`${closedUrl}/hooks/gitlab`, ping)).status).toBe(404);
    closed.child.kill('SIGTERM');
    await closed.result;
  });

  it('refuses an empty hook secret (flag or environment) with exit 2 instead of running without it', async () => {
    const flag = await herald(['serve', '--data-dir', tempDir(), '--github-secret', '']);
    expect(flag.code).toBe(2);
    expect(flag.stderr.toString()).toContain('herald serve: --github-secret is empty');
    const env = await herald(['serve', '--data-dir', tempDir()], { env: { HERALD_GITLAB_TOKEN: '' } });
    expect(env.code).toBe(2);
    expect(env.stderr.toString()).toContain('herald serve: HERALD_GITLAB_TOKEN is empty');
  });
});
