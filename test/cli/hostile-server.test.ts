// The CLI against a server that is not a Herald server, or not a friendly one: an answer that never
// ends (memory stays bounded, the command ends), an answer that trickles (the timeout ends it),
// control characters in what it sends (escaped in every line the CLI prints).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES, publish, PublishError } from '../../cli/publish.ts';
import { killLeftovers, startHerald } from './harness.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  killLeftovers();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function fakeServer(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Answers every request 201 with a JSON-looking body that never ends, as fast as the client takes it. */
async function endlessServer(): Promise<{ url: string; sentBytes: () => number }> {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const url = await fakeServer((req, res) => {
    req.resume();
    res.writeHead(201, { 'Content-Type': 'application/json' });
    res.write('{"id":"1","title":"');
    const pump = () => {
      while (!res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    res.on('error', () => {});
    pump();
  });
  return { url, sentBytes: () => sent };
}

/** The highest resident set the process reached so far (Linux), in bytes. */
function peakRss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
}

/** Runs herald to its end, noting its peak memory just before it exits. */
async function heraldWithPeak(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string; peak: number }> {
  const p = startHerald(args, { input: '' });
  let peak = 0;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, peakRss(p.child.pid!));
    } catch {
      // exited between two samples
    }
  }, 20);
  const r = await p.result;
  clearInterval(timer);
  return { code: r.code, stderr: r.stderr.toString(), stdout: r.stdout.toString(), peak };
}

const MiB = 1024 * 1024;

describe('the CLI against a server whose answer never ends', () => {
  it('herald send reads at most 64 KiB of it, says so, and exits 1 with its memory bounded', async () => {
    const endless = await endlessServer();
    const r = await heraldWithPeak(['send', '--server', endless.url, 'hello']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`answered 201 with more than ${MAX_RESPONSE_BYTES / 1024} KiB; is --server pointing at a Herald server?`);
    // The server got rid of what the kernel's socket buffers hold, not gigabytes (3.2 GB peak before the cap).
    expect(endless.sentBytes()).toBeLessThan(32 * MiB);
    expect(r.peak).toBeGreaterThan(0);
    expect(r.peak).toBeLessThan(250 * MiB);
  });

  it('herald run still runs the command, warns once, exits with its code, with its memory bounded', async () => {
    const endless = await endlessServer();
    const r = await heraldWithPeak([
      'run',
      '--server',
      endless.url,
      '--',
      process.execPath,
      '-e',
      'console.log("the job ran"); process.exit(3)',
    ]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('the job ran\n');
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('herald:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('with more than 64 KiB');
    expect(endless.sentBytes()).toBeLessThan(64 * MiB);
    expect(r.peak).toBeLessThan(250 * MiB);
  });

  it('publish() gives up on an answer that trickles forever once its timeout passes', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const url = await fakeServer((req, res) => {
      req.resume();
      res.writeHead(201, { 'Content-Type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 20);
      timers.add(timer);
      res.on('close', () => clearInterval(timer));
    });
    const started = performance.now();
    const error = await publish({ url }, { title: 'x' }, { timeoutMs: 400 }).catch((err: unknown) => err);
    for (const timer of timers) clearInterval(timer);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).reason).toBe('timeout');
    expect((error as PublishError).message).toContain('no answer within 0.4 s');
    // It ended because of the timeout, not because the server stopped (it never does).
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });
});

describe('the CLI prints what a server sends with its control characters escaped', () => {
  const csi = '\u009b';
  const osc = '\u009d';

  it('herald send --json: C1 and DEL written as \\u escapes, the JSON still the same value', async () => {
    const stored = {
      id: '7',
      type: 'notification',
      topic: 'default',
      time: '2030-01-01T00:00:00.000Z',
      title: `red${csi}31m title${osc}0;pwned\u0007`,
      body: 'del\u007f',
      priority: 3,
    };
    const url = await fakeServer((req, res) => {
      req.resume();
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(stored));
    });
    const r = await heraldWithPeak(['send', '--server', url, '--json', 'hello']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('red\\u009b31m title\\u009d0;pwned\\u0007');
    expect(JSON.parse(r.stdout)).toEqual(stored);
  });

  it('herald send: an error message from the server reaches the terminal escaped', async () => {
    const url = await fakeServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'bad_request', message: `title: bad\u001b]0;owned\u0007 ${csi}2J`, field: 'title' } }));
    });
    const r = await heraldWithPeak(['send', '--server', url, 'hello']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(r.stderr).toContain('title: bad\\u001b]0;owned\\u0007 \\u009b2J');
  });

  it('herald send refuses a 201 that carries no event id instead of printing it', async () => {
    const url = await fakeServer((req, res) => {
      req.resume();
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: `\u001b[2J${csi}2J` }));
    });
    const r = await heraldWithPeak(['send', '--server', url, 'hello']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('answered 201 without a stored event');
  });

  it('herald listen --json writes C1 characters from the stream as \\u escapes', async () => {
    const event = { id: '1', type: 'notification', topic: 'default', time: '2030-01-01T00:00:00.000Z', title: `${csi}31mred`, priority: 3 };
    const url = await fakeServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(`retry: 1000\n\nid: 1\nevent: notification\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const state = `${fs.mkdtempSync('/tmp/herald-hostile-')}/state.json`;
    const p = startHerald(['listen', '--server', url, '--json', '--state', state]);
    const deadline = Date.now() + 15_000;
    while (!p.stdoutText().includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    p.child.kill('SIGTERM');
    await p.result;
    const line = p.stdoutText().split('\n')[0]!;
    expect(line).not.toMatch(/[\u007f-\u009f]/);
    expect(line).toContain('"title":"\\u009b31mred"');
    expect(JSON.parse(line)).toEqual(event);
    fs.rmSync(state.replace(/\/state\.json$/, ''), { recursive: true, force: true });
  });

  it('herald listen: every field of its line is escaped (the topic too, no forged second line), and so is what it says on stderr', async () => {
    const event = {
      id: '1',
      type: 'notification',
      topic: `${csi}31mops`,
      time: '2030-01-01T00:00:00.000Z',
      title: 'real\nherald listen: forged',
      priority: 3,
    };
    const url = await fakeServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(`retry: 1000\n\nid: 1\nevent: notification\ndata: ${JSON.stringify(event)}\n\n`);
      // A frame that is not an event, with an id that is a terminal escape: listen says it ignored it.
      res.write(`id: 2\u001b]0;owned\u0007${csi}2J\ndata: not json\n\n`);
    });
    const state = `${fs.mkdtempSync('/tmp/herald-hostile-')}/state.json`;
    const p = startHerald(['listen', '--server', url, '--state', state]);
    const deadline = Date.now() + 15_000;
    while (!p.stderrText().includes('not JSON') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    p.child.kill('SIGTERM');
    await p.result;
    const out = p.stdoutText();
    expect(out.split('\n')).toHaveLength(2); // one line, then the end
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('?31mops');
    expect(out).toContain('real?herald listen: forged');
    const err = p.stderrText();
    expect(err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(err).toContain('ignored a frame that is not JSON (id 2\\u001b]0;owned\\u0007\\u009b2J)');
    fs.rmSync(state.replace(/\/state\.json$/, ''), { recursive: true, force: true });
  });
});
