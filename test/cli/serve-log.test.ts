// `herald serve` whose stderr stops taking bytes (a pipe nobody reads; a terminal stopped with
// Ctrl-S) keeps serving: its log lines are queued, then dropped and counted, never written
// synchronously on the event loop. What a client sent reaches the log with its control characters
// escaped. Real processes, a real pipe, a real pseudo-terminal (`script`), a raw socket.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { processesAndDirs } from '../server/harness.ts';
import { cleanEnv, deadServerUrl, HERALD_BIN } from './harness.ts';

const { children, tempDir } = processesAndDirs('herald-serve-log-');

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Requests whose rejection the server logs, each line about 4 KB (the path is in it): 100 of them are ~400 KB of log. */
async function floodTheLog(url: string, count = 100): Promise<void> {
  const long = `/${'x'.repeat(4000)}`;
  await Promise.all(
    Array.from({ length: count }, () =>
      fetch(`${url}${long}`, { signal: AbortSignal.timeout(10_000) }).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      ),
    ),
  );
}

/** /health, with a deadline: a server blocked on its log never answers. */
async function health(url: string): Promise<number> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
  return res.status;
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('herald serve with a stalled log output', () => {
  it('answers /health while its stderr is a pipe nobody reads, and says how many lines it dropped once read again', async () => {
    const child = spawn(process.execPath, [HERALD_BIN, 'serve', '--port', '0', '--data-dir', tempDir()], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.pause(); // nobody reads: once the pipe and our buffer are full, the server's writes cannot go anywhere
    await waitFor(() => /^http:\/\/\S+\n/.test(stdout), 'the address on stdout');
    const url = stdout.trim();

    await floodTheLog(url);
    expect(await health(url)).toBe(200);
    await floodTheLog(url);
    expect(await health(url)).toBe(200);

    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stderr!.resume();
    await waitFor(
      () => /herald: \d+ log lines dropped: the log output \(terminal or pipe\) was not taking them/.test(stderr),
      'the count of dropped lines',
    );
    const dropped = Number(/herald: (\d+) log lines dropped/.exec(stderr)![1]);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(200);
  });

  it.skipIf(!hasScript())('answers /health while its terminal is stopped with Ctrl-S, and goes on after Ctrl-Q', async () => {
    const url = await deadServerUrl(); // a free port, so the address is known before the terminal stops
    const port = new URL(url).port;
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const line = `exec ${q(process.execPath)} ${q(HERALD_BIN)} serve --port ${port} --data-dir ${q(tempDir())}`;
    const term = spawn('script', ['--quiet', '--command', line, '/dev/null'], {
      env: cleanEnv({ SHELL: '/bin/sh' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(term);
    let screen = '';
    term.stdout!.on('data', (d: Buffer) => (screen += d.toString()));
    await waitFor(() => screen.includes(`${url}`), 'the server on the terminal');
    term.stdin!.write('\u0013'); // Ctrl-S: the terminal stops taking output
    await new Promise((r) => setTimeout(r, 200));
    const before = screen.length;

    await floodTheLog(url);
    expect(await health(url)).toBe(200);
    await floodTheLog(url);
    expect(await health(url)).toBe(200);
    expect(screen.length - before).toBeLessThan(64 * 1024); // the terminal really was stopped

    term.stdin!.write('\u0011'); // Ctrl-Q
    await waitFor(() => /log lines? dropped/.test(screen), 'the count of dropped lines on the terminal');
    expect(await health(url)).toBe(200);
  });
});

describe('herald serve logs what clients send escaped', () => {
  it('a C1 CSI a client put in X-Forwarded-For (behind --trust-proxy) reaches the terminal as \\u009b, never raw', async () => {
    const child = spawn(process.execPath, [HERALD_BIN, 'serve', '--port', '0', '--data-dir', tempDir(), '--trust-proxy', 'loopback'], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => /^http:\/\/\S+\n/.test(stdout), 'the address on stdout');
    const { hostname, port } = new URL(stdout.trim());
    // Header values may carry bytes 0x80-0xFF (obs-text); Node reads them as Latin-1, so 0x9B is U+009B, CSI.
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    // Written, not ended: a half-closed socket may be gone (no address) by the time the request is logged.
    socket.write(
      Buffer.concat([
        Buffer.from('GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: '),
        Buffer.from([0x9b]),
        Buffer.from('2J\r\n\r\n'),
      ]),
    );
    await waitFor(() => answer.startsWith('HTTP/1.1 404'), 'the 404');
    socket.destroy();
    await waitFor(() => stderr.includes('rejected GET /nothing-here'), 'the rejection in the log');
    const line = stderr.split('\n').find((l) => l.includes('rejected GET /nothing-here'))!;
    expect(line).toContain('from \\u009b2J: 404');
    expect(stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});
