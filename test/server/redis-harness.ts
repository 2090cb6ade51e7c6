// A real redis-server for the tests: started on a free port in a temp dir with the persistence
// that makes an acknowledged publish mean stored (--appendonly yes --appendfsync always), killed
// (-9) and started again on the same port and files, and stopped. Plus a round-robin TCP proxy
// that spreads connections over several Herald servers and can cut them. Node.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from './harness.ts';

export const REDIS_SERVER = process.env.HERALD_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  /** kill -9: what Redis had not written is gone (with appendfsync always, nothing acknowledged). */
  kill(): Promise<void>;
  /** Starts it again on the same port and files. */
  restart(): Promise<void>;
  /** Runs a redis-cli-like command through a short-lived connection (tests look at keys with it). */
  command(...args: string[]): Promise<unknown>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const dir = tempDir('herald-redis-');
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const log = fs.openSync(path.join(dir, 'redis.log'), 'a');
    child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--daemonize',
        'no',
        ...extraArgs,
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    await waitForPort(port, () => child?.exitCode !== null, dir);
  };
  await launch();
  const exited = () =>
    new Promise<void>((resolve) =>
      child === undefined || child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
    );
  const redis: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async kill() {
      child?.kill('SIGKILL');
      await exited();
    },
    async restart() {
      await launch();
    },
    command: (...args) => redisCommand(port, args),
    async stop() {
      child?.kill('SIGTERM');
      await exited();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return redis;
}

async function waitForPort(port: number, exited: () => boolean, dir: string, logName = 'redis.log'): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (exited()) throw new Error(`redis-server exited at start: ${fs.readFileSync(path.join(dir, logName), 'utf8').slice(-800)}`);
    try {
      if ((await redisCommand(port, ['PING'])) === 'PONG') return;
    } catch (error) {
      // NOAUTH: it is up, and wants a password. Anything else: not listening yet.
      if (/NOAUTH/.test((error as Error).message)) return;
    }
    if (Date.now() - start > 20_000) throw new Error(`redis-server did not answer on port ${port} within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One command over RESP2 on a fresh connection; answers simple strings, integers, bulk strings and flat arrays. */
export async function redisCommand(port: number, args: string[]): Promise<unknown> {
  return (await redisCommands(port, [args])).at(-1);
}

/** Several commands on one fresh connection (AUTH, SELECT, then a look), their answers in order; an error answer rejects. */
export function redisCommands(port: number, list: string[][]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const values: unknown[] = [];
      let at = 0;
      while (values.length < list.length) {
        const parsed = parseReply(buffer, at);
        if (!parsed) return;
        values.push(parsed.value);
        at = parsed.end;
      }
      socket.end();
      const failed = values.find((v) => v instanceof Error);
      if (failed) reject(failed as Error);
      else resolve(values);
    });
    socket.write(list.map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join(''));
  });
}

function parseReply(buffer: Buffer, at: number): { value: unknown; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', at);
  if (lineEnd < 0) return undefined;
  const kind = String.fromCharCode(buffer[at]!);
  const line = buffer.toString('utf8', at + 1, lineEnd);
  if (kind === '+') return { value: line, end: lineEnd + 2 };
  if (kind === '-') return { value: new Error(line), end: lineEnd + 2 };
  if (kind === ':') return { value: Number(line), end: lineEnd + 2 };
  if (kind === '$') {
    const length = Number(line);
    if (length < 0) return { value: null, end: lineEnd + 2 };
    if (buffer.length < lineEnd + 2 + length + 2) return undefined;
    return { value: buffer.toString('utf8', lineEnd + 2, lineEnd + 2 + length), end: lineEnd + 2 + length + 2 };
  }
  if (kind === '*') {
    const count = Number(line);
    const values: unknown[] = [];
    let end = lineEnd + 2;
    for (let i = 0; i < count; i++) {
      const item = parseReply(buffer, end);
      if (!item) return undefined;
      values.push(item.value);
      end = item.end;
    }
    return { value: count < 0 ? null : values, end };
  }
  throw new Error(`unexpected Redis reply type ${kind}`);
}

/**
 * A Sentinel (redis-server --sentinel) watching a primary, on a free port in a temp dir: what
 * `redis+sentinel://` URLs name.
 */
export async function startSentinel(primaryPort: number, name = 'mymaster'): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = tempDir('herald-sentinel-');
  const port = await freePort();
  const conf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${name} 127.0.0.1 ${primaryPort} 1\n`);
  const log = fs.openSync(path.join(dir, 'sentinel.log'), 'a');
  const child = spawn(REDIS_SERVER, [conf, '--sentinel'], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  await waitForPort(port, () => child.exitCode !== null, dir, 'sentinel.log');
  return {
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RoundRobinProxy {
  url: string;
  /** Connections made so far, per target (index). */
  readonly counts: number[];
  /** Targets taken out of the rotation (a dead server): new connections skip them. */
  setTargets(ports: Array<number | undefined>): void;
  /** Cuts every open connection (clients see the stream end and reconnect). */
  cutAll(): void;
  /** Cuts one open connection chosen at random, if any. */
  cutOne(): boolean;
  close(): Promise<void>;
}

/**
 * A TCP proxy that sends each new connection to the next target in turn (no stickiness), as a
 * load balancer in front of several Herald servers does.
 */
export async function startRoundRobinProxy(ports: number[]): Promise<RoundRobinProxy> {
  let targets: Array<number | undefined> = [...ports];
  let next = 0;
  const counts = ports.map(() => 0);
  const open = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const server = net.createServer((client) => {
    const live = targets.map((port, i) => ({ port, i })).filter((t) => t.port !== undefined);
    if (live.length === 0) {
      client.destroy();
      return;
    }
    const target = live[next++ % live.length]!;
    counts[target.i]! += 1;
    const upstream = net.connect(target.port!, '127.0.0.1');
    const pair = { client, upstream };
    open.add(pair);
    const end = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setTargets(list) {
      targets = [...list];
    },
    cutAll() {
      for (const pair of [...open]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
    },
    cutOne() {
      const pairs = [...open];
      if (pairs.length === 0) return false;
      const pair = pairs[Math.floor(Math.random() * pairs.length)]!;
      pair.client.destroy();
      pair.upstream.destroy();
      return true;
    },
    async close() {
      for (const pair of open) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
