// A server with a private CA: trusted when its CA file is given, refused (with a reason that
// names the certificate) when not. Never a switch that ignores certificate errors.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedClient } from '../../feed/client.ts';
import type { FeedState } from '../../events/feed-state.ts';
import type { HeraldEvent } from '../../events/event.ts';
import { SSE_HEADERS, frameEvent, frameRetry } from '../../events/sse.ts';
import { tempDir, waitFor } from './support.ts';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const OPENSSL = hasOpenssl();
if (!OPENSSL) console.warn('https test skipped: no openssl on this machine to make a throwaway CA');

describe.skipIf(!OPENSSL)('FeedClient over https with a private CA', () => {
  let dir = '';
  let server: https.Server;
  let url = '';
  let ca: Buffer;

  beforeAll(async () => {
    dir = tempDir('tls');
    const f = (name: string) => path.join(dir, name);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=Herald test CA',
    );
    ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      f('server.key'),
      '-out',
      f('server.csr'),
      '-subj',
      '/CN=127.0.0.1',
    );
    fs.writeFileSync(
      f('san.ext'),
      'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n',
    );
    ssl(
      'x509',
      '-req',
      '-in',
      f('server.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f('server.pem'),
      '-days',
      '1',
      '-extfile',
      f('san.ext'),
    );
    ca = fs.readFileSync(f('ca.pem'));
    server = https.createServer({ key: fs.readFileSync(f('server.key')), cert: fs.readFileSync(f('server.pem')) }, (req, res) => {
      if (req.method === 'POST') {
        // What `herald send` gets from a Herald server: the stored event.
        req.resume();
        req.on('end', () => {
          res.writeHead(201, { 'Content-Type': 'application/json' });
          res.end(
            JSON.stringify({
              id: '7',
              type: 'notification',
              topic: 'tls',
              time: new Date().toISOString(),
              title: 'sent over tls',
              priority: 3,
            }),
          );
        });
        return;
      }
      res.writeHead(200, SSE_HEADERS);
      res.write(frameRetry(20));
      const event: HeraldEvent = {
        id: '1',
        type: 'notification',
        topic: 'tls',
        time: new Date().toISOString(),
        title: 'over tls',
        priority: 3,
      };
      res.write(frameEvent({ id: '1', event: event.type, data: JSON.stringify(event) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('connects when given the CA file', async () => {
    const events: HeraldEvent[] = [];
    const client = new FeedClient({ url, ca, cursor: { load: () => undefined, save() {} }, onEvent: (e) => void events.push(e) });
    client.start();
    try {
      await waitFor('the event over tls', () => events.length === 1);
      expect(events[0]!.title).toBe('over tls');
      expect(client.state.status).toBe('open');
    } finally {
      client.stop();
    }
  });

  it('refuses the server without it, saying the certificate is not trusted', async () => {
    const states: FeedState[] = [];
    const client = new FeedClient({
      url,
      cursor: { load: () => undefined, save() {} },
      onEvent() {},
      onState: (s) => states.push(s),
      minBackoffMs: 20,
    });
    client.start();
    try {
      await waitFor('a failure', () => states.some((s) => s.status === 'reconnecting'));
      const failed = states.find((s) => s.status === 'reconnecting')!;
      expect(failed.reason).toMatch(/certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): give Herald the CA file/);
      expect(states.some((s) => s.status === 'open')).toBe(false);
    } finally {
      client.stop();
    }
  });

  it('herald send trusts the CA named by NODE_EXTRA_CA_CERTS, and without it says why and what to set', async () => {
    const send = (env: Record<string, string>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.resolve('bin/herald.js'), 'send', '--server', url, 'over tls'], {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const trusted = await send({ NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') });
    expect(trusted).toMatchObject({ code: 0, stdout: '7\n', stderr: '' });
    const untrusted = await send({});
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toBe(
      `herald: cannot reach the Herald server at ${url} (certificate not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)). For a private CA, set NODE_EXTRA_CA_CERTS=/path/to/ca.pem.\n`,
    );
  });

  it('herald listen --ca FILE trusts that CA', async () => {
    const child = spawn(process.execPath, [
      path.resolve('bin/herald.js'),
      'listen',
      '--server',
      url,
      '--ca',
      path.join(dir, 'ca.pem'),
      '--state',
      path.join(dir, 'listen.json'),
    ]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitFor('the event line', () => / tls +over tls$/m.test(out));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
