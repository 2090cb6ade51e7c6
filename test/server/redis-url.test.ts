// The --redis URL forms: a plain server, TLS, a password (never shown), a database, Sentinel; and
// what is said about URLs that cannot be used.
import { describe, expect, it } from 'vitest';
import { parseRedisUrl, shownUrl } from '../../server/redis-url.ts';

describe('parseRedisUrl', () => {
  it('reads host, port and database, with the defaults', () => {
    expect(parseRedisUrl('redis://redis.internal')).toEqual({
      shown: 'redis://redis.internal',
      tls: false,
      db: 0,
      host: 'redis.internal',
      port: 6379,
    });
    expect(parseRedisUrl('redis://10.1.2.3:6380/4')).toMatchObject({ host: '10.1.2.3', port: 6380, db: 4, tls: false });
    expect(parseRedisUrl('redis://[::1]:7000')).toMatchObject({ host: '::1', port: 7000 });
  });

  it('takes a password (percent-encoded where needed), a user with ACLs, and TLS with rediss://; the shown URL hides the password', () => {
    const plain = parseRedisUrl('rediss://:p%40ss:word@cache.example.com:6380/1');
    expect(plain).toMatchObject({ tls: true, password: 'p@ss:word', host: 'cache.example.com', port: 6380, db: 1 });
    expect(plain.username).toBeUndefined();
    expect(plain.shown).toBe('rediss://:***@cache.example.com:6380/1');
    expect(parseRedisUrl('redis://herald:secret@h')).toMatchObject({
      username: 'herald',
      password: 'secret',
      shown: 'redis://herald:***@h',
    });
    expect(parseRedisUrl('redis://secret@h')).toMatchObject({ password: 'secret', shown: 'redis://***@h' });
  });

  it('reads a Sentinel group: the Sentinels (port 26379 by default), the primary name and the database', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1,s2:26380,s3/mymaster/2')).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      primaryName: 'mymaster',
      db: 2,
      password: 'pw',
      tls: false,
      shown: 'redis+sentinel://:***@s1,s2:26380,s3/mymaster/2',
    });
    expect(parseRedisUrl('rediss+sentinel://s1/primary')).toMatchObject({ tls: true, primaryName: 'primary' });
  });

  it('refuses what it cannot use, saying what is wrong and what a good URL looks like', () => {
    const cases: Array<[string, string]> = [
      ['', 'the Redis URL is empty'],
      ['localhost:6379', 'is not a Redis URL: it must start with redis://, rediss:// or redis+sentinel://'],
      ['http://localhost:6379', '"http://" is not a Redis URL scheme Herald knows'],
      ['redis://h:99999', 'port 99999 is out of range'],
      ['redis://h:6379/db', '"db" is not a database number'],
      ['redis://h/0/extra', 'unexpected "/extra" after the database number'],
      ['redis://a,b', 'several hosts need redis+sentinel://'],
      ['redis+sentinel://s1:26379', 'name the primary the Sentinels watch'],
      ['redis://h?db=2', 'query parameters are not read'],
      ['redis://:%zz@h', 'not valid percent-encoding'],
    ];
    for (const [url, message] of cases) expect(() => parseRedisUrl(url), url).toThrow(message);
  });

  it('never puts the password in an error', () => {
    expect(() => parseRedisUrl('redis://:hunter2@h:1/x')).toThrow('redis://:***@h:1/x');
    expect(shownUrl('redis://user:hunter2@h')).toBe('redis://user:***@h');
  });
});
