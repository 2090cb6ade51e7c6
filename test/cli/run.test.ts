import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { cleanEnv, deadServerUrl, HERALD_BIN, herald, heraldLines, killLeftovers, startHerald, testServer } from './harness.ts';
import type { TestServer } from './harness.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await testServer();
});
afterAll(async () => {
  await srv.close();
});
afterEach(() => killLeftovers());

/** A node one-liner as the command: portable and exact about the bytes it writes. */
const node = (script: string) => [process.execPath, '-e', script];

/** The job events of the one job on `topic`, in the order stored. */
async function jobEvents(topic: string): Promise<HeraldEvent[]> {
  return (await srv.events(`after=0&topic=${topic}`)).filter((e) => e.type.startsWith('job.'));
}

describe('herald run: exit codes and job events', () => {
  it('exits 0 and reports job.started then job.completed with the same job id', async () => {
    const r = await herald(['run', '--server', srv.url, '--topic', 'ok', '--name', 'unit tests', '--', ...node('console.log("fine")')]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('fine\n');
    expect(r.stderr.toString()).toBe('');
    const [started, done, ...more] = await jobEvents('ok');
    expect(more).toEqual([]);
    expect(started).toMatchObject({ type: 'job.started', job: { status: 'running', name: 'unit tests' } });
    expect(done).toMatchObject({
      type: 'job.completed',
      job: { status: 'succeeded', exitCode: 0, name: 'unit tests', outputTail: 'fine' },
    });
    expect(done!.job!.id).toBe(started!.job!.id);
    expect(done!.job!.host).toBe(started!.job!.host);
    expect(done!.job!.durationMs).toBeGreaterThanOrEqual(0);
    expect(Number(done!.id)).toBeGreaterThan(Number(started!.id));
  });

  it("exits with the command's own code and reports job.failed", async () => {
    const r = await herald(['run', '--server', srv.url, '--topic', 'three', '--', ...node('process.exit(3)')]);
    expect(r.code).toBe(3);
    const [, failed] = await jobEvents('three');
    expect(failed).toMatchObject({ type: 'job.failed', priority: 4, job: { status: 'failed', exitCode: 3 } });
  });

  it('exits 127 for a command that does not exist and reports why', async () => {
    const r = await herald(['run', '--server', srv.url, '--topic', 'missing', '--', 'herald-no-such-command-xyz', '--flag']);
    expect(r.code).toBe(127);
    expect(r.stderr.toString()).toBe('herald: command not found: herald-no-such-command-xyz\n');
    const events = await jobEvents('missing');
    expect(events.map((e) => e.type)).toEqual(['job.started', 'job.failed']);
    expect(events[1]).toMatchObject({ body: 'command not found: herald-no-such-command-xyz', job: { status: 'failed', exitCode: 127 } });
  });

  it('exits 128+N when the command is killed by signal N', async () => {
    const r = await herald(['run', '--server', srv.url, '--topic', 'killed', '--', ...node('process.kill(process.pid, "SIGKILL")')]);
    expect(r.code).toBe(137);
    const [, failed] = await jobEvents('killed');
    expect(failed).toMatchObject({ type: 'job.failed', body: 'killed by SIGKILL', job: { status: 'failed', exitCode: 137 } });
  });

  it('keeps the last 20 lines of output, stderr included, as job.outputTail', async () => {
    // stdout and stderr are two pipes, so only output apart in time has a defined order between them.
    const script = 'for (let i = 1; i <= 29; i++) console.log("line " + i); setTimeout(() => console.error("line 30 on stderr"), 300)';
    const r = await herald(['run', '--server', srv.url, '--topic', 'tail', '--', ...node(script)]);
    expect(r.code).toBe(0);
    const [, done] = await jobEvents('tail');
    const expected = [...Array.from({ length: 19 }, (_, i) => `line ${i + 11}`), 'line 30 on stderr'].join('\n');
    expect(done!.job!.outputTail).toBe(expected);
  });
});

describe('herald run: control characters', () => {
  it('runs a command whose arguments and output hold C1 controls, and reports it without them', async () => {
    const script = 'process.stdout.write("csi \\u009b31m red\\nnel \\u0085 end\\n")';
    const r = await herald(['run', '--server', srv.url, '--topic', 'c1', '--', process.execPath, '-e', script, 'arg\u009b2J']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString('utf8')).toBe('csi \u009b31m red\nnel \u0085 end\n'); // passed through unchanged
    expect(heraldLines(r.stderr)).toEqual([]);
    const [started, done] = await jobEvents('c1');
    expect(started!.job!.name).not.toMatch(/[\u0080-\u009f]/);
    expect(started!.job!.name).toContain('arg 2J');
    expect(done!.job!.outputTail).toBe('csi 31m red\nnel  end');
  });
});

describe('herald run: output order', () => {
  it('keeps the tail, and the output, in the order it was written across stdout and stderr when both go to one place', async () => {
    // `herald run -- cmd >log 2>&1` (or a terminal): herald's stdout and stderr are one file.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-run-order-'));
    const log = path.join(dir, 'log');
    const fd = fs.openSync(log, 'w');
    try {
      // Plain write(2)s from a shell, alternating streams as fast as it can: two pipes would deliver them in bursts per stream.
      const script =
        'i=1; while [ $i -le 40 ]; do if [ $((i % 2)) = 1 ]; then echo "line $i"; else echo "line $i (stderr)" >&2; fi; i=$((i + 1)); done; exit 1';
      const child = spawn(process.execPath, [HERALD_BIN, 'run', '--server', srv.url, '--topic', 'order', '--', 'sh', '-c', script], {
        env: cleanEnv(),
        stdio: ['ignore', fd, fd],
      });
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      expect(code).toBe(1);
      const written = Array.from({ length: 40 }, (_, i) => `line ${i + 1}${(i + 1) % 2 === 0 ? ' (stderr)' : ''}`);
      expect(fs.readFileSync(log, 'utf8')).toBe(`${written.join('\n')}\n`);
      const [, failed] = await jobEvents('order');
      expect(failed!.job!.outputTail).toBe(written.slice(-20).join('\n'));
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never splices a line of one stream into a line of the other when they go to different places', async () => {
    const script =
      'process.stdout.write("compiling "); setTimeout(() => { process.stderr.write("warning: slow\\n"); setTimeout(() => process.stdout.write("done\\nsummary: ok\\n"), 150) }, 150)';
    const r = await herald(['run', '--server', srv.url, '--topic', 'splice', '--', ...node(script)]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('compiling done\nsummary: ok\n');
    const [, done] = await jobEvents('splice');
    expect(done!.job!.outputTail).toBe('warning: slow\ncompiling done\nsummary: ok');
  });
});

describe('herald run: pass-through', () => {
  it('passes stdout and stderr through byte for byte, with no trailing newline', async () => {
    const script = [
      'process.stdout.write(Buffer.from([0x61, 0x0d, 0x0a, 0x00, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0xff, 0xfe]));',
      'process.stdout.write("héllo ✓ 日本語 🎉");',
      'process.stderr.write("warn ⚠ no newline");',
    ].join('');
    const r = await herald(['run', '--server', srv.url, '--topic', 'bytes', '--', ...node(script)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual(
      Buffer.concat([Buffer.from([0x61, 0x0d, 0x0a, 0x00, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0xff, 0xfe]), Buffer.from('héllo ✓ 日本語 🎉')]),
    );
    expect(r.stderr.toString('utf8')).toBe('warn ⚠ no newline');
    const [, done] = await jobEvents('bytes');
    // The tail is cleaned for people: no control characters or escapes, but the text survives.
    expect(done!.job!.outputTail).toContain('héllo ✓ 日本語 🎉');
    expect(done!.job!.outputTail).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('passes a large output through unchanged', async () => {
    const script = 'const b = Buffer.alloc(1 << 20); for (let i = 0; i < b.length; i++) b[i] = (i * 7) & 0xff; process.stdout.write(b)';
    const r = await herald(['run', '--server', srv.url, '--topic', 'large', '--', ...node(script)]);
    expect(r.code).toBe(0);
    const expected = Buffer.alloc(1 << 20);
    for (let i = 0; i < expected.length; i++) expected[i] = (i * 7) & 0xff;
    expect(r.stdout.length).toBe(expected.length);
    expect(createHash('sha256').update(r.stdout).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('passes stdin through to the command', async () => {
    const input = 'first line\nsecond ✓\nno newline at the end';
    const r = await herald(['run', '--server', srv.url, '--topic', 'stdin', '--', 'cat'], { input });
    expect(r.code).toBe(0);
    expect(r.stdout.toString('utf8')).toBe(input);
  });

  it("leaves the output on herald's own stdout/stderr with --no-tail, and sends no tail", async () => {
    const r = await herald([
      'run',
      '--server',
      srv.url,
      '--topic',
      'notail',
      '--no-tail',
      '--',
      ...node('process.stdout.write("direct"); process.stderr.write("err")'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('direct');
    expect(r.stderr.toString()).toBe('err');
    const [, done] = await jobEvents('notail');
    expect(done!.type).toBe('job.completed');
    expect(done!.job!.outputTail).toBeUndefined();
  });

  it('takes the command without "--" too, leaving its flags alone', async () => {
    const r = await herald([
      'run',
      '--server',
      srv.url,
      '--topic',
      'nodash',
      process.execPath,
      '-e',
      'console.log(process.argv.slice(1).join(","))',
      'a',
      '--name',
      'x',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('a,--name,x\n');
    const [started] = await jobEvents('nodash');
    expect(started!.job!.name).toMatch(/ -e 'console\.log\(.*\)' a --name x$/);
  });
});

describe('herald run: cancel and failures to report', () => {
  it('passes SIGINT on to the command, exits 130 and reports the job as cancelled', async () => {
    // Detached: its own session with no terminal, so the SIGINT reaches herald alone (as from `kill -INT`).
    const p = startHerald(['run', '--server', srv.url, '--topic', 'cancel', '--', ...node('setTimeout(() => {}, 60000)')], {
      detached: true,
    });
    await srv.waitFor((events) => events.some((e) => e.topic === 'cancel' && e.type === 'job.started'), 'job.started');
    p.child.kill('SIGINT');
    const r = await p.result;
    expect(r.code).toBe(130);
    const [started, cancelled] = await jobEvents('cancel');
    expect(cancelled).toMatchObject({
      type: 'job.failed',
      body: 'stopped by SIGINT',
      job: { id: started!.job!.id, status: 'cancelled', exitCode: 130 },
    });
  });

  // util-linux `script` gives the command a real terminal, whose Ctrl-C goes to the whole
  // foreground process group: the command must get it once, not a second time from herald.
  for (const [how, nodeArgs] of [
    ['', ''],
    [' (re-run for the type-stripping flag)', '--no-experimental-strip-types '],
  ] as const) {
    it.skipIf(!hasScript())(`in a terminal, Ctrl-C reaches the command once and the job is cancelled${how}`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-cli-tty-'));
      try {
        const childScript = path.join(dir, 'count-sigint.cjs');
        fs.writeFileSync(
          childScript,
          'let n = 0; process.on("SIGINT", () => { n++; setTimeout(() => { console.log("sigints=" + n); process.exit(130); }, 300); }); setInterval(() => {}, 1000); console.log("ready");',
        );
        const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
        // `exec`: herald replaces the shell, so no shell shares the terminal's process group. A
        // non-interactive dash would die of the same Ctrl-C, whatever herald did; and with
        // `--return`, script's exit status is herald's own.
        const topic = nodeArgs ? 'tty-rerun' : 'tty';
        const line = `exec ${q(process.execPath)} ${nodeArgs}${q(HERALD_BIN)} run --server ${q(srv.url)} --topic ${topic} -- ${q(process.execPath)} ${q(childScript)}`;
        // The re-run happens only on the TypeScript sources (the prebuilt dist/cli needs no flag).
        const env = cleanEnv({ SHELL: '/bin/sh', ...(nodeArgs ? { HERALD_CLI_FROM_SOURCE: '1' } : {}) });
        const term = spawn('script', ['--quiet', '--return', '--command', line, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let sent = false;
        term.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (!sent && out.includes('ready')) {
            sent = true;
            term.stdin!.write('\u0003'); // Ctrl-C, typed into the terminal
          }
        });
        const code = await new Promise<number | null>((resolve) => term.on('close', resolve));
        expect(out).toContain('sigints=1');
        expect(code).toBe(130);
        const [, cancelled] = await jobEvents(topic);
        expect(cancelled).toMatchObject({ type: 'job.failed', body: 'stopped by SIGINT', job: { status: 'cancelled', exitCode: 130 } });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    it(`passes ${signal} on and keeps the exit code of a command that handles it`, async () => {
      const script = `process.on("${signal}", () => { process.stdout.write("cleaning up\\n"); process.exit(7) }); console.log("ready"); setTimeout(() => {}, 60000)`;
      const topic = signal.toLowerCase();
      const p = startHerald(['run', '--server', srv.url, '--topic', topic, '--', ...node(script)], { detached: true });
      await waitUntil(() => p.stdoutText().includes('ready'));
      p.child.kill(signal);
      const r = await p.result;
      expect(r.code).toBe(7);
      expect(r.stdout.toString()).toBe('ready\ncleaning up\n');
      const [, cancelled] = await jobEvents(topic);
      expect(cancelled).toMatchObject({
        type: 'job.failed',
        body: `stopped by ${signal}`,
        job: { status: 'cancelled', exitCode: 7, outputTail: 'ready\ncleaning up' },
      });
    });
  }

  // Node 22.12 to 22.17 strip types only with a flag, so bin/herald.js runs its sources in a child
  // Node (when the prebuilt dist/cli is stale or missing); --no-experimental-strip-types puts
  // today's Node on that path, HERALD_CLI_FROM_SOURCE=1 skips the prebuilt JavaScript.
  it('on a Node that needs the type-stripping flag, the re-run passes SIGTERM on and keeps exit codes', async () => {
    const nodeArgs = ['--no-experimental-strip-types'];
    const env = { HERALD_CLI_FROM_SOURCE: '1' };
    const script =
      'process.on("SIGTERM", () => { console.log("cleaning up"); process.exit(7) }); console.log("ready"); setTimeout(() => {}, 60000)';
    const p = startHerald(['run', '--server', srv.url, '--topic', 'wrapped', '--', ...node(script)], { detached: true, nodeArgs, env });
    await waitUntil(() => p.stdoutText().includes('ready'));
    p.child.kill('SIGTERM'); // the outer process: what a service manager or `kill` reaches
    const r = await p.result;
    expect(r.code).toBe(7);
    expect(r.stdout.toString()).toBe('ready\ncleaning up\n');
    const [, cancelled] = await jobEvents('wrapped');
    expect(cancelled).toMatchObject({ type: 'job.failed', body: 'stopped by SIGTERM', job: { status: 'cancelled', exitCode: 7 } });

    const plain = await startHerald(['run', '--server', srv.url, '--topic', 'wrapped-exit', '--', ...node('process.exit(5)')], {
      nodeArgs,
      env,
      input: '',
    }).result;
    expect(plain.code).toBe(5);
    // A command killed by a signal: herald's 128+N comes through the re-run unchanged.
    const killed = await startHerald(
      ['run', '--server', srv.url, '--topic', 'wrapped-kill', '--', ...node('process.kill(process.pid, "SIGKILL")')],
      { nodeArgs, env, input: '' },
    ).result;
    expect(killed.code).toBe(137);
  });

  it('still runs the command when the server is unreachable: same output, same exit code, one warning', async () => {
    const url = await deadServerUrl();
    const r = await herald(['run', '--', ...node('process.stdout.write("out"); process.stderr.write("err\\n"); process.exit(5)')], {
      env: { HERALD_SERVER: url },
    });
    expect(r.code).toBe(5);
    expect(r.stdout.toString()).toBe('out');
    // The warning may come before or after the command's own line; the command's bytes are intact.
    expect(
      r.stderr
        .toString()
        .split('\n')
        .filter((l) => !l.startsWith('herald'))
        .join('\n'),
    ).toBe('err\n');
    expect(heraldLines(r.stderr)).toEqual([`herald: could not report to ${url}: connection refused (the command itself is not affected)`]);
  });

  it('gives up on a server that never answers after a bounded wait, with one warning', async () => {
    // Accepts connections and never answers: the worst case for a report.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const r = await herald(['run', '--server', url, '--', ...node('process.stdout.write("done")')]);
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe('done');
      expect(heraldLines(r.stderr)).toEqual([
        `herald: could not report to ${url}: no answer within 5 s (the command itself is not affected)`,
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('stops the command with SIGPIPE when its reader goes away, like `| head`', async () => {
    // `yes`, not node: Node ignores SIGPIPE (and would see EPIPE instead, as it would under a shell too).
    const p = startHerald(['run', '--server', srv.url, '--topic', 'sigpipe', '--', 'yes']);
    p.child.stdout!.once('data', () => p.child.stdout!.destroy());
    const r = await p.result;
    expect(r.code).toBe(141);
    const events = await jobEvents('sigpipe');
    expect(events[1]).toMatchObject({ type: 'job.failed', body: 'killed by SIGPIPE', job: { exitCode: 141 } });
  });

  it('refuses a bad --topic or --priority before running anything (exit 2)', async () => {
    const topic = await herald(['run', '--server', srv.url, '--topic', 'no spaces', '--', ...node('console.log("ran")')]);
    expect(topic.code).toBe(2);
    expect(topic.stdout.toString()).toBe('');
    expect(topic.stderr.toString()).toContain('--topic');
    const priority = await herald(['run', '--server', srv.url, '--priority', 'loud', '--', ...node('console.log("ran")')]);
    expect(priority.code).toBe(2);
    expect(priority.stderr.toString()).toContain('--priority');
    const none = await herald(['run', '--server', srv.url]);
    expect(none.code).toBe(2);
    expect(none.stderr.toString()).toContain('no command given');
  });
});

function hasScript(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
