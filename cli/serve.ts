// `herald serve`: the companion server in the foreground, until Ctrl-C or SIGTERM.
import { isIP } from 'node:net';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { defaultDataDir } from '../server/data-dir.ts';
import { startServer } from '../server/serve.ts';
import type { RedisServerOptions, ServerOptions } from '../server/serve.ts';
import { parseRedisUrl, RedisUrlError } from '../server/redis-url.ts';
import { isLoopbackHost } from '../events/net.ts';
import { LogOpenError } from '../server/errors.ts';
import { LineLog } from '../server/line-log.ts';
import { onStopSignals } from '../server/signals.ts';
import { tokenProblem } from '../server/guard.ts';
import { CommandError, parseCommandArgs, parseIntegerFlag, parsePositiveNumberFlag, stringFlag, UsageError } from './options.ts';
import type { OptionSpec, ParsedArgs } from './options.ts';
import { describeError } from '../events/errors.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from '../events/net.ts';

export const SERVE_USAGE = `Usage: herald serve [options]

Run the Herald companion server: publishers POST events to it, it stores them
durably in SQLite (or on a Redis Stream that several servers share) and streams
them to the desktop app and \`herald listen\`. Stops cleanly on Ctrl-C or SIGTERM.

Options:
  --port N                 port to listen on (default ${DEFAULT_PORT}; 0 = any free port)
  --host H                 address to bind (default 127.0.0.1, this machine only)
  --data-dir DIR           where the event log lives (env HERALD_DATA_DIR,
                           default ~/.local/share/herald or the OS equivalent)
  --token T                require "Authorization: Bearer T" on every route but
                           /health (env HERALD_TOKEN)
  --allow-origin URL       let web pages from this origin use the API (repeatable)
  --github-secret S        take GitHub (and Gitea, Forgejo) webhooks at POST /hooks/github,
                           signed with S (env HERALD_GITHUB_SECRET); off without it
  --gitlab-token T         take GitLab webhooks at POST /hooks/gitlab with secret token T
                           (env HERALD_GITLAB_TOKEN); off without it
  --allowed-host NAME      a host name that may reach the server besides this
                           machine's own (a DNS name, a proxy's; repeatable)
  --retention-events N     keep at most N events (server default if not given)
  --retention-days D       drop events older than D days (decimals allowed)
  --redis URL              keep the events on a Redis Stream instead of SQLite: every
                           server started with the same URL and key serves one feed
                           (env HERALD_REDIS_URL). redis://[:PASSWORD@]HOST[:PORT][/DB],
                           rediss:// for TLS, redis+sentinel://S1:26379,S2:26379/PRIMARY[/DB]
  --redis-key K            the stream's key (default herald:events)
  --redis-wait N           answer a publish only once N replicas confirmed it (Redis WAIT)
  --redis-wait-ms MS       how long to wait for them before answering 503 (default 1000)
  --new-log                when herald.db is empty, damaged or not Herald's, keep it
                           aside (herald.db.broken-<time>) and start a new, empty
                           log; without it, such a file stops the start
  --trust-proxy ADDR       a load balancer in front: take the client's address from the
                           X-Forwarded-For it sets (an IP, a CIDR or "loopback"; repeatable)
  --reuse-port             share the port with other herald serve processes (one per core,
                           each with the same --redis)
  -h, --help               show this help

Example:
  herald serve --port ${DEFAULT_PORT} --data-dir ~/.herald
  HERALD_GITHUB_SECRET="$(cat ~/.herald-hook-secret)" herald serve --host 0.0.0.0 --token "$T"
  herald serve --host 0.0.0.0 --token "$T" --redis redis://redis.internal:6379/0
`;

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  token: { type: 'string' },
  'allow-origin': { type: 'string', multiple: true },
  'github-secret': { type: 'string' },
  'gitlab-token': { type: 'string' },
  'allowed-host': { type: 'string', multiple: true },
  'retention-events': { type: 'string' },
  'retention-days': { type: 'string' },
  redis: { type: 'string' },
  'redis-key': { type: 'string' },
  'redis-wait': { type: 'string' },
  'redis-wait-ms': { type: 'string' },
  'new-log': { type: 'boolean' },
  'trust-proxy': { type: 'string', multiple: true },
  'reuse-port': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface ServeIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export async function serve(argv: string[], io: ServeIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('serve', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError('serve', `unexpected argument "${positionals[0]}"`);

  const options: ServerOptions = {};
  const port = stringFlag(values, 'port');
  options.port = port === undefined ? DEFAULT_PORT : parseIntegerFlag('serve', 'port', port, 0, 65535);
  options.host = stringFlag(values, 'host') ?? DEFAULT_HOST;
  const dataDir = path.resolve(stringFlag(values, 'data-dir') ?? defaultDataDir({ env: io.env }));
  options.dataDir = dataDir;
  const token = serverToken(stringFlag(values, 'token'), io.env);
  if (token !== undefined) options.token = token;
  const githubSecret = hookSecret(
    stringFlag(values, 'github-secret'),
    io.env.HERALD_GITHUB_SECRET,
    'github-secret',
    'HERALD_GITHUB_SECRET',
  );
  if (githubSecret !== undefined) options.githubSecret = githubSecret;
  const gitlabToken = hookSecret(stringFlag(values, 'gitlab-token'), io.env.HERALD_GITLAB_TOKEN, 'gitlab-token', 'HERALD_GITLAB_TOKEN');
  if (gitlabToken !== undefined) options.gitlabToken = gitlabToken;
  const origins = values['allow-origin'];
  if (Array.isArray(origins) && origins.length > 0) options.allowedOrigins = origins.map((o) => checkOrigin(String(o)));
  const hosts = values['allowed-host'];
  if (Array.isArray(hosts) && hosts.length > 0) options.allowedHosts = hosts.map((h) => checkHostName(String(h)));
  if (values['new-log'] === true) options.newLog = true;
  const maxEvents = stringFlag(values, 'retention-events');
  const maxDays = stringFlag(values, 'retention-days');
  if (maxEvents !== undefined || maxDays !== undefined) {
    options.retention = {};
    if (maxEvents !== undefined)
      options.retention.maxEvents = parseIntegerFlag('serve', 'retention-events', maxEvents, 1, Number.MAX_SAFE_INTEGER);
    if (maxDays !== undefined)
      options.retention.maxAgeMs = Math.round(parsePositiveNumberFlag('serve', 'retention-days', maxDays) * 86_400_000);
  }

  const redis = redisOptions(values, io.env);
  if (redis !== undefined) options.redis = redis;
  const proxies = values['trust-proxy'];
  if (Array.isArray(proxies) && proxies.length > 0) options.trustProxy = proxies.map((p) => checkProxy(String(p)));
  if (values['reuse-port']) options.reusePort = true;

  if (!isLoopbackHost(options.host) && token === undefined) {
    io.stderr.write(
      `herald: WARNING: listening on ${options.host} WITHOUT A TOKEN: anyone who can reach this machine can read\n` +
        `herald: WARNING: every event and publish new ones, and so could any web page you visit, through your browser.\n` +
        `herald: WARNING: Pass --token T (or set HERALD_TOKEN), or bind to 127.0.0.1.\n`,
    );
  }

  // The server's log, and ours once it runs, go through a LineLog: stderr stopped by Ctrl-S or a
  // pipe nobody reads must not stop the server (Node writes to both synchronously).
  const log = new LineLog();
  options.log = log.write;
  let server;
  try {
    server = await startServer(options);
  } catch (err) {
    throw new CommandError(startFailure(err, options));
  }
  let stop: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
  const stopListening = onStopSignals((signal, count) => {
    if (count === 1) return stop(signal);
    // A second Ctrl-C while closing: the user wants out now.
    log.write('stopping now, without waiting');
    void log.flush(200).then(() => process.exit(1));
  });
  // The address once per stream: the bare URL on stdout for scripts (`url=$(herald serve | head -1)`),
  // the server's own log line (address, data file) on stderr for people. Only once the stop
  // signals are ours: whoever read the address may stop the server at once.
  io.stdout.write(`${server.url}\n`);
  try {
    const signal = await stopped;
    log.write(`${signal}: closing streams and the event log…`);
    await server.close();
    log.write('server stopped');
    await log.flush(2000);
    return 0;
  } finally {
    stopListening();
  }
}

/**
 * The token from --token, else HERALD_TOKEN; undefined when neither is given. Given but empty (a
 * `--token "$UNSET"` or `HERALD_TOKEN=` in a service file) is an error: it must never mean "no auth".
 */
function serverToken(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const [token, source] = flag !== undefined ? [flag, '--token'] : [env.HERALD_TOKEN, 'HERALD_TOKEN'];
  if (token === undefined) return undefined;
  const problem = tokenProblem(token);
  if (problem === undefined) return token;
  if (token === '') {
    throw new UsageError(
      'serve',
      source === '--token'
        ? 'the token is empty: set a value, or drop --token to run without one'
        : 'the token is empty (HERALD_TOKEN is set to ""): set a value, or unset HERALD_TOKEN to run without one',
    );
  }
  throw new UsageError('serve', `${source}: ${problem}; choose another token`);
}

/**
 * --redis (else HERALD_REDIS_URL) and its companions; undefined for SQLite. A URL that cannot be
 * read is a usage error (exit 2) naming what is wrong; one that reads well but cannot be reached
 * fails at startup (exit 1).
 */
function redisOptions(values: ParsedArgs['values'], env: NodeJS.ProcessEnv): RedisServerOptions | undefined {
  const flag = stringFlag(values, 'redis');
  const [url, source] = flag !== undefined ? [flag, '--redis'] : [env.HERALD_REDIS_URL, 'HERALD_REDIS_URL'];
  const key = stringFlag(values, 'redis-key');
  const wait = stringFlag(values, 'redis-wait');
  const waitMs = stringFlag(values, 'redis-wait-ms');
  if (url === undefined) {
    const stray =
      key !== undefined ? '--redis-key' : wait !== undefined ? '--redis-wait' : waitMs !== undefined ? '--redis-wait-ms' : undefined;
    if (stray) throw new UsageError('serve', `${stray} only means something with --redis URL (or HERALD_REDIS_URL)`);
    return undefined;
  }
  try {
    parseRedisUrl(url);
  } catch (error) {
    if (error instanceof RedisUrlError) throw new UsageError('serve', `${source}: ${error.message}`);
    throw error;
  }
  const redis: RedisServerOptions = { url };
  if (key !== undefined) {
    if (key.trim() === '' || /\s/.test(key))
      throw new UsageError('serve', '--redis-key must be a Redis key name without spaces, such as herald:events');
    redis.key = key;
  }
  if (wait !== undefined) redis.waitReplicas = parseIntegerFlag('serve', 'redis-wait', wait, 0, 100);
  if (waitMs !== undefined) redis.waitTimeoutMs = parseIntegerFlag('serve', 'redis-wait-ms', waitMs, 1, 60_000);
  return redis;
}

/** The flag, else the environment; an empty value is a mistake, never "no secret" (that would open nothing, silently). */
function hookSecret(flag: string | undefined, env: string | undefined, name: string, envName: string): string | undefined {
  const [value, source] = flag !== undefined ? [flag, `--${name}`] : [env, envName];
  if (value === undefined) return undefined;
  if (value.trim() === '')
    throw new UsageError('serve', `${source} is empty: give the webhook's secret, or leave ${source} out to keep that hook endpoint off`);
  return value;
}

/** A host name for --allowed-host: a DNS name or an address, without scheme, port or path. */
function checkHostName(value: string): string {
  const name = value.trim().toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name) && !/^[0-9a-f:.]+$/.test(name)) {
    throw new UsageError('serve', `--allowed-host takes a host name like herald.example.com (no scheme, port or path), not "${value}"`);
  }
  return name;
}

/** A --trust-proxy value: an IP address, a CIDR range, or one of Express's names for ranges. */
function checkProxy(value: string): string {
  const text = value.trim();
  if (['loopback', 'linklocal', 'uniquelocal'].includes(text)) return text;
  const [address = '', bits, ...rest] = text.split('/');
  const family = isIP(address);
  const maxBits = family === 4 ? 32 : 128;
  if (family !== 0 && rest.length === 0 && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits))) return text;
  throw new UsageError(
    'serve',
    `--trust-proxy takes the load balancer's address (10.0.0.10), a range (10.0.0.0/8) or loopback, not "${value}"`,
  );
}

function checkOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError('serve', `--allow-origin must be an origin like https://example.com, not "${value}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin === 'null') {
    throw new UsageError('serve', `--allow-origin must be an http(s) origin like https://example.com, not "${value}"`);
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new UsageError('serve', `--allow-origin takes an origin (scheme, host, port), not a page: use ${url.origin}`);
  }
  return url.origin;
}

function startFailure(err: unknown, options: ServerOptions): string {
  // The log's own startup errors already name the file and say what to do.
  if (err instanceof LogOpenError) return err.message;
  const code = (err as { code?: unknown }).code ?? (err as { cause?: { code?: unknown } }).cause?.code;
  const where = `${options.host}:${options.port}`;
  if (code === 'EADDRINUSE')
    return `port ${options.port} on ${options.host} is already in use (another Herald server?); pick another with --port`;
  if (code === 'EACCES') return `not allowed to listen on ${where}; ports below 1024 need privileges, pick another with --port`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: this machine has no such address; check --host`;
  return `could not start the server on ${where}: ${describeError(err)}`;
}
