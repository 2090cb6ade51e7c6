// The Redis address `herald serve --redis URL` takes, checked and turned into connection options.
// Pure: no connection is made here.
//
//   redis://[[user]:password@]host[:port][/db]          a Redis server (port 6379, db 0 by default)
//   rediss://...                                        the same over TLS
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/primary-name[/db]
//                                                       the primary a Sentinel group names (port 26379);
//                                                       the password is the primary's, not the Sentinels'
//   rediss+sentinel://...                               the same, TLS to the primary and the Sentinels

/** Where Herald's Redis is, as connection options (ioredis's shape, without importing it). */
export interface RedisTarget {
  /** The URL with its password replaced by "***", for log lines and /health. */
  shown: string;
  tls: boolean;
  username?: string;
  password?: string;
  db: number;
  /** A plain server. */
  host?: string;
  port?: number;
  /** A Sentinel group: the Sentinels to ask and the name of the primary they watch. */
  sentinels?: Array<{ host: string; port: number }>;
  primaryName?: string;
}

export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

const EXAMPLES =
  'redis://127.0.0.1:6379/0, rediss://:PASSWORD@redis.example.com:6380 or redis+sentinel://sentinel-1:26379,sentinel-2:26379/mymaster';

/** Parses a --redis / HERALD_REDIS_URL value, or throws a RedisUrlError that says what is wrong and what a good one looks like. */
export function parseRedisUrl(value: string): RedisTarget {
  const text = value.trim();
  if (text === '') throw new RedisUrlError(`the Redis URL is empty: give one such as ${EXAMPLES}`);
  const scheme = /^([a-z+]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined)
    throw new RedisUrlError(
      `"${shownUrl(text)}" is not a Redis URL: it must start with redis://, rediss:// or redis+sentinel:// (for example ${EXAMPLES})`,
    );
  if (!['redis', 'rediss', 'redis+sentinel', 'rediss+sentinel'].includes(scheme)) {
    throw new RedisUrlError(
      `"${scheme}://" is not a Redis URL scheme Herald knows: use redis://, rediss:// (TLS) or redis+sentinel:// (for example ${EXAMPLES})`,
    );
  }
  const sentinel = scheme.endsWith('+sentinel');
  const tls = scheme.startsWith('rediss');
  // new URL() takes one host only; a Sentinel list (a,b:26380,c) is split by hand.
  const rest = text.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@', rest.indexOf('/') === -1 ? rest.length : rest.indexOf('/'));
  const credentials = at >= 0 ? rest.slice(0, at) : '';
  const afterCredentials = at >= 0 ? rest.slice(at + 1) : rest;
  const slash = afterCredentials.indexOf('/');
  const hostPart = slash >= 0 ? afterCredentials.slice(0, slash) : afterCredentials;
  const pathPart = slash >= 0 ? afterCredentials.slice(slash + 1) : '';
  if (/[?#]/.test(afterCredentials))
    throw new RedisUrlError(`${shownUrl(text)}: query parameters are not read; put the database number in the path (redis://host:6379/2)`);

  const target: RedisTarget = { shown: shownUrl(text), tls, db: 0 };
  if (credentials !== '') {
    const colon = credentials.indexOf(':');
    const user = decode(colon >= 0 ? credentials.slice(0, colon) : credentials, 'user name');
    const password = colon >= 0 ? decode(credentials.slice(colon + 1), 'password') : undefined;
    // redis://secret@host is how some providers write a password alone.
    if (password === undefined) target.password = user;
    else {
      if (user !== '') target.username = user;
      target.password = password;
    }
  }

  const hosts = hostPart.split(',').map((part) => hostAndPort(part, sentinel ? 26379 : 6379, text));
  const segments = pathPart.split('/').filter((segment) => segment !== '');
  if (sentinel) {
    const name = segments.shift();
    if (name === undefined)
      throw new RedisUrlError(
        `${shownUrl(text)}: name the primary the Sentinels watch after the hosts (redis+sentinel://host:26379/mymaster)`,
      );
    target.sentinels = hosts;
    target.primaryName = decode(name, 'primary name');
  } else {
    if (hosts.length > 1)
      throw new RedisUrlError(
        `${shownUrl(text)}: several hosts need redis+sentinel:// (they are Sentinels); a redis:// URL names one server`,
      );
    target.host = hosts[0]!.host;
    target.port = hosts[0]!.port;
  }
  const db = segments.shift();
  if (db !== undefined) {
    if (!/^\d{1,5}$/.test(db)) throw new RedisUrlError(`${shownUrl(text)}: "${db}" is not a database number (the path is /0, /1, ...)`);
    target.db = Number(db);
  }
  if (segments.length > 0) throw new RedisUrlError(`${shownUrl(text)}: unexpected "/${segments.join('/')}" after the database number`);
  return target;
}

/** The URL with its password masked: what may be logged. */
export function shownUrl(text: string): string {
  return text.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@').replace(/^([a-z+]+:\/\/)([^:@/]+)@/i, '$1***@');
}

function hostAndPort(part: string, defaultPort: number, url: string): { host: string; port: number } {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(part);
  if (!match) throw new RedisUrlError(`${shownUrl(url)}: "${part}" is not a host or host:port`);
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65535) throw new RedisUrlError(`${shownUrl(url)}: port ${match[2]} is out of range (1 to 65535)`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError(
      `the ${what} in the Redis URL is not valid percent-encoding: write special characters as %XX (for example @ as %40)`,
    );
  }
}
