// What keeps `herald send` and `herald run` quick to start (bench/cli.ts measures how quick):
// the prebuilt JavaScript in dist/cli while it matches the sources, and a publish that never
// loads undici (fetch), TLS or node:crypto for a plain-http server. Checked by what the real
// process loads, read by a hook that records every module it resolves.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREBUILT_ENTRY, prebuiltEntry, SOURCES_FILE } from '../../bin/prebuilt.js';
import { onFirstUse, PACKAGES_ON_FIRST_USE, precomputedMimeTypes } from '../../cli/build-plugins.ts';
import { monotonicMs } from '../../cli/lean.ts';
import { randomBytes, randomUuid } from '../../server/random.ts';
import { cleanEnv, HERALD_BIN, testServer } from './harness.ts';
import type { TestServer } from './harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Imported into the herald process: at exit, writes what it loaded (Node's own modules and every URL it resolved) to fd 3. */
const RECORDER = `
import { registerHooks } from 'node:module';
import { writeSync } from 'node:fs';
const urls = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.push(r.url); return r; } });
process.on('exit', () => writeSync(3, JSON.stringify({ builtins: process.moduleLoadList, urls })));
`;

let srv: TestServer;
let recorder: string;
beforeAll(async () => {
  srv = await testServer();
  recorder = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'herald-start-up-')), 'recorder.mjs');
  fs.writeFileSync(recorder, RECORDER);
});
afterAll(async () => {
  await srv.close();
  fs.rmSync(path.dirname(recorder), { recursive: true, force: true });
});

/** Starts herald with the recorder; `done` resolves once it has closed, with its exit code and what it loaded. */
function spawnRecorded(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string; builtins: string[]; urls: string[] }> } {
  const child = spawn(process.execPath, ['--import', pathToFileURL(recorder).href, HERALD_BIN, ...args], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  let loaded = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (c: string) => (loaded += c));
  const done = new Promise<{ code: number | null; stderr: string; builtins: string[]; urls: string[] }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const { builtins, urls } = JSON.parse(loaded || '{"builtins":[],"urls":[]}') as { builtins: string[]; urls: string[] };
      resolve({ code, stderr, builtins, urls });
    });
  });
  return { child, done };
}

/** Runs herald with the recorder; resolves with its exit code and what it loaded. */
function heraldLoads(args: string[], env: Record<string, string> = {}) {
  const { child, done } = spawnRecorded(args, env);
  child.stdout!.resume();
  return done;
}

const inRepo = (urls: string[]) =>
  urls
    .filter((u) => u.startsWith(pathToFileURL(root).href) && !u.includes('/node_modules/'))
    .map((u) => path.relative(root, fileURLToPath(u)));

describe('herald send and run start-up', () => {
  it('publish over node:http: no undici (fetch), no TLS, no node:crypto for an http:// server', async () => {
    for (const args of [
      ['send', '--server', srv.url, 'lean start'],
      ['run', '--server', srv.url, '--', 'true'],
    ]) {
      const r = await heraldLoads(args);
      expect(r.stderr, args[0]).toBe('');
      expect(r.code, args[0]).toBe(0);
      const loaded = r.builtins.join('\n');
      // Each of these cost `herald send` its start-up: undici ~150 ms, crypto ~12 ms (bench/cli.ts).
      expect(loaded, args[0]).not.toMatch(/undici|NativeModule tls|NativeModule http2|NativeModule crypto$/m);
      expect(loaded, args[0]).toContain('NativeModule http');
    }
    const stored = await srv.events('after=0');
    expect(stored.some((e) => e.body === 'lean start')).toBe(true);
    expect(stored.filter((e) => e.type === 'job.completed')).toHaveLength(1);
  });

  it('runs the prebuilt JavaScript in dist/cli while it matches the sources', async () => {
    // npm ci builds it (prepare → npm run build); run `npm run build:cli` after editing cli/.
    expect(prebuiltEntry(root), `${PREBUILT_ENTRY} is missing or older than the sources: run npm run build:cli`).toBe(
      pathToFileURL(path.join(root, PREBUILT_ENTRY)).href,
    );
    const r = await heraldLoads(['send', '--server', srv.url, 'prebuilt']);
    expect(r.code).toBe(0);
    const files = inRepo(r.urls);
    expect(files).toContain(path.normalize('dist/cli/main.js'));
    expect(files).toContain(path.normalize('dist/cli/publish.js'));
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
  });

  it('runs the TypeScript sources with HERALD_CLI_FROM_SOURCE=1', async () => {
    const r = await heraldLoads(['send', '--server', srv.url, 'from source'], { HERALD_CLI_FROM_SOURCE: '1' });
    expect(r.code).toBe(0);
    const files = inRepo(r.urls);
    expect(files).toContain(path.normalize('cli/main.ts'));
    expect(files.filter((f) => f.startsWith('dist'))).toEqual([]);
  });
});

/** `herald serve` from the bundle, with the recorder; `stop` ends it (SIGTERM) and gives its exit code and what it loaded. */
async function serveWithRecorder(
  dataDir: string,
): Promise<{ url: string; stop(): Promise<{ code: number | null; builtins: string[]; urls: string[] }> }> {
  const { child, done } = spawnRecorded(['serve', '--port', '0', '--data-dir', dataDir]);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('\n')) resolve(out.split('\n')[0]!.trim());
    });
    child.once('exit', (code) => reject(new Error(`herald serve exited with ${code} before printing its URL`)));
  });
  return {
    url,
    stop() {
      child.kill('SIGTERM');
      return done;
    },
  };
}

describe('herald serve start-up', () => {
  it('loads the server and Express from its one bundle, dist/cli/serve.js, and no module of it twice', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-serve-start-up-'));
    try {
      const server = await serveWithRecorder(dataDir);
      const url = server.url;
      // Every route answers from what was loaded before listening: a publish, then a read of it.
      const published = await fetch(`${url}/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: 'bundled' }),
      });
      expect(published.status).toBe(201);
      const history = (await (await fetch(`${url}/history?after=0`)).json()) as { events: Array<{ title: string }> };
      expect(history.events.map((e) => e.title)).toEqual(['bundled']);
      const { code, builtins, urls } = await server.stop();
      expect(code).toBe(0);

      const files = inRepo(urls);
      expect(files).toContain(path.normalize('dist/cli/serve.js'));
      expect(files.filter((f) => f.startsWith(`dist${path.sep}server${path.sep}`) || f.endsWith('.ts'))).toEqual([]);
      // node:http as require gives it: its ES module namespace would load undici, http2 and tls (~45 ms).
      expect(builtins.filter((m) => /undici|http2|internal\/tls/.test(m))).toEqual([]);
      // node:crypto and node:zlib wait for a use (build-plugins.ts, server/lazy.ts): a new log, a
      // publish without an idempotency key and a read need neither.
      expect(builtins.filter((m) => /\b(crypto|zlib)\b/.test(m))).toEqual([]);
      // From node_modules, only what cannot be bundled: better-sqlite3 and its native addon.
      const fromPackages = urls.filter((u) => u.includes('/node_modules/')).map((u) => u.replace(/^.*\/node_modules\//, ''));
      expect(fromPackages.filter((u) => !u.startsWith('better-sqlite3/'))).toEqual([]);
      // A module in the bundle and also loaded from dist/ would be two copies: two UsageError
      // classes, two EventValidationErrors, and `instanceof` telling them apart.
      const map = JSON.parse(fs.readFileSync(path.join(root, 'dist', 'cli', 'serve.js.map'), 'utf8')) as { sources: string[] };
      const bundled = new Set(map.sources.map((s) => path.relative(root, path.resolve(root, 'dist', 'cli', s))));
      expect(bundled).toContain(path.normalize('node_modules/express/lib/express.js'));
      expect([...bundled].filter((f) => f.includes(`${path.sep}mime-db${path.sep}`))).toEqual([]);
      expect([...bundled].filter((f) => f.startsWith(`server${path.sep}`)).length).toBeGreaterThan(10);
      const alsoLoaded = files
        .filter((f) => f.startsWith(`dist${path.sep}`) && !/^dist[\\/]cli[\\/]serve(-[^\\/]+)?\.js$/.test(f))
        .map((f) => f.replace(/^dist[\\/]/, '').replace(/\.js$/, '.ts'));
      expect(alsoLoaded.filter((f) => bundled.has(f))).toEqual([]);
      // server/ imports node:fs as an ES module; that namespace would load fs/promises and readline (~6 ms).
      for (const file of fs.readdirSync(path.join(root, 'dist', 'cli')).filter((f) => /^serve(-.+)?\.js$/.test(f))) {
        const text = fs.readFileSync(path.join(root, 'dist', 'cli', file), 'utf8');
        expect(text, file).not.toMatch(/^import .* from "(node:)?fs";?$/m);
        // One non-ASCII character and V8 decodes and keeps the whole file as a two-byte string.
        expect(text.match(/[^\x00-\x7f]/g) ?? [], file).toEqual([]);
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('gives every type, extension and charset mime-types gives, from the tables build:cli computes for the bundle', () => {
    const require = createRequire(path.join(root, 'package.json'));
    type MimeTypes = {
      types: Record<string, string>;
      extensions: Record<string, string[]>;
      _extensionConflicts: unknown[];
      charset(type: string): string | false;
      contentType(type: string): string | false;
      extension(type: string): string | false;
      lookup(path: string): string | false;
    };
    const real = require('mime-types') as MimeTypes;
    const { file, transform } = precomputedMimeTypes(root);
    const code = transform(fs.readFileSync(file, 'utf8'));
    // The bundle's mime-types no longer reads mime-db: its db is the charsets alone.
    expect(code).not.toContain("require('mime-db')");
    const fromFile = createRequire(file);
    const built = { exports: {} as MimeTypes };
    new Function('exports', 'require', 'module', code)(built.exports, (id: string) => fromFile(id), built);
    const db = fromFile('mime-db') as Record<string, unknown>;
    const types = Object.keys(db);
    expect(types.length).toBeGreaterThan(2000);
    for (const type of types) {
      for (const asked of [type, `${type}; charset=latin1`, type.toUpperCase()]) {
        expect(built.exports.charset(asked), asked).toBe(real.charset(asked));
        expect(built.exports.contentType(asked), asked).toBe(real.contentType(asked));
        expect(built.exports.extension(asked), asked).toBe(real.extension(asked));
      }
    }
    for (const ext of Object.keys(real.types)) {
      expect(built.exports.lookup(`file.${ext}`), ext).toBe(real.lookup(`file.${ext}`));
      expect(built.exports.contentType(ext), ext).toBe(real.contentType(ext));
    }
    expect({ ...built.exports.types }).toEqual({ ...real.types });
    expect({ ...built.exports.extensions }).toEqual({ ...real.extensions });
    expect(built.exports._extensionConflicts).toEqual(real._extensionConflicts);
  });

  it("gives the bundle's packages node:crypto, node:zlib, qs and iconv-lite on first use, as the modules themselves answer", () => {
    const bundle = path.join(root, 'dist', 'cli', 'serve.js');
    const plugin = onFirstUse(root);
    const load = plugin.load as (id: string) => { code: string } | null;
    const transform = plugin.transform as (code: string, id: string) => { code: string } | null;
    const loadedFrom = new Set<string>();
    // As in the bundle: the stand-in's require is the bundle's, resolving from dist/cli.
    const fromBundle = createRequire(bundle);
    const moduleOf = (id: string) => {
      const mod = { exports: {} as Record<string | symbol, unknown> };
      const require = (name: string) => (loadedFrom.add(name), fromBundle(name) as unknown);
      new Function('exports', 'require', 'module', load(id)!.code)(mod.exports, require, mod);
      return mod.exports;
    };
    const standIn = (name: string) => `\0herald-on-first-use:${name}`;
    // Only what packages require: Herald's own files and other modules are left as they are.
    const fromPackage = path.join(root, 'node_modules', 'etag', 'index.js');
    for (const [code, name] of [
      ["var crypto = require('crypto')", 'crypto'],
      ["const zlib = require('node:zlib')", 'zlib'],
      ["var qs = require('qs');", 'qs'],
      ['var iconv = require("iconv-lite")', 'iconv-lite'],
    ] as const) {
      expect(transform(code, fromPackage)!.code).toBe(code.replace(/require\(.*\)/, `require(${JSON.stringify(standIn(name))})`));
    }
    expect(transform("var fs = require('fs')", fromPackage)).toBeNull();
    // A package that would find another copy than the bundle's folder does keeps its require.
    expect(transform("var qs = require('qs')", path.join(os.tmpdir(), 'elsewhere', 'node_modules', 'x', 'index.js'))).toBeNull();
    expect(transform("var crypto = require('crypto')", path.join(root, 'server', 'guard.ts'))).toBeNull();

    const crypto = moduleOf(standIn('crypto')) as unknown as typeof import('node:crypto');
    const realCrypto = process.getBuiltinModule('node:crypto');
    expect(crypto.createHash('sha1').update('herald').digest('base64')).toBe(
      realCrypto.createHash('sha1').update('herald').digest('base64'),
    );
    expect(crypto.timingSafeEqual(Buffer.from('a'), Buffer.from('a'))).toBe(true);
    const zlib = moduleOf(standIn('zlib')) as unknown as typeof import('node:zlib');
    const realZlib = process.getBuiltinModule('node:zlib');
    expect('createZstdDecompress' in zlib).toBe('createZstdDecompress' in realZlib);
    expect('noSuchThing' in zlib).toBe(false);
    expect(Object.keys(zlib).sort()).toEqual(Object.keys(realZlib).sort());
    expect(zlib.gunzipSync(realZlib.gzipSync('herald')).toString()).toBe('herald');
    expect(zlib.constants).toBe(realZlib.constants);
    expect(loadedFrom.size).toBe(0);

    // The packages: not in the bundle, required from node_modules by the stand-in when first used.
    const qs = moduleOf(standIn('qs')) as unknown as { parse(text: string): unknown };
    const iconv = moduleOf(standIn('iconv-lite')) as unknown as {
      decode(bytes: Buffer, charset: string): string;
      encodingExists(name: string): boolean;
    };
    expect(loadedFrom.size).toBe(0);
    expect(qs.parse('a[b]=1&c=2')).toEqual({ a: { b: '1' }, c: '2' });
    expect(iconv.encodingExists('shift_jis')).toBe(true);
    expect(iconv.decode(Buffer.from([0x82, 0xa0]), 'shift_jis')).toBe('\u3042');
    expect([...loadedFrom].sort()).toEqual([...PACKAGES_ON_FIRST_USE].sort());
    const map = JSON.parse(fs.readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[] };
    for (const name of PACKAGES_ON_FIRST_USE)
      expect(
        map.sources.filter((s) => s.includes(`/node_modules/${name}/`)),
        name,
      ).toEqual([]);
  });

  it("answers its web UI's files with the types mime-types gives (its tables are computed at build time)", async () => {
    const require = createRequire(path.join(root, 'package.json'));
    const mime = require('mime-types') as { contentType(type: string): string | false };
    const text = fs.readFileSync(path.join(root, 'dist', 'cli', 'serve.js'), 'utf8');
    // The build replaced the call that scores every type at load with the maps it computed.
    expect(text).not.toContain('populateMaps(exports.extensions, exports.types)');

    const webRoot = path.join(root, 'dist', 'renderer');
    const webFiles = (fs.readdirSync(webRoot, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(webRoot, f)).isFile());
    expect(webFiles.map((f) => path.extname(f)).sort()).toEqual(expect.arrayContaining(['.css', '.html', '.js', '.svg']));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-serve-types-'));
    try {
      const server = await serveWithRecorder(dataDir);
      try {
        for (const file of webFiles) {
          const res = await fetch(`${server.url}/${file.split(path.sep).join('/')}`);
          expect(res.status, file).toBe(200);
          expect(res.headers.get('content-type'), file).toBe(mime.contentType(path.extname(file)));
          await res.arrayBuffer();
        }
      } finally {
        expect((await server.stop()).code).toBe(0);
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('prebuiltEntry', () => {
  let dir = '';
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  };
  /** A fake Herald folder: two sources, the built entry and the manifest, as build:cli writes them. */
  const build = () => {
    write('cli/main.ts', 'export const a = 1;\n');
    write('events/x.ts', 'export const b = 2;\n');
    write(PREBUILT_ENTRY, 'export const a = 1;\n');
    const sources = ['cli/main.ts', 'events/x.ts'].map((file) => {
      const stat = fs.statSync(path.join(dir, file));
      const sha256 = createHash('sha256')
        .update(fs.readFileSync(path.join(dir, file)))
        .digest('hex');
      return [file, stat.size, stat.mtimeMs, sha256];
    });
    write(SOURCES_FILE, JSON.stringify({ sources }));
  };
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-prebuilt-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is the built entry when every source is as the build saw it', () => {
    build();
    expect(prebuiltEntry(dir)).toBe(pathToFileURL(path.join(dir, PREBUILT_ENTRY)).href);
  });

  it('still is when only a modification time changed (a checkout, a copy, an npm tarball)', () => {
    build();
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(dir, 'events/x.ts'), later, later);
    expect(prebuiltEntry(dir)).toBe(pathToFileURL(path.join(dir, PREBUILT_ENTRY)).href);
  });

  it('is undefined once a source is edited (even to the same size), deleted, or nothing was built', () => {
    build();
    write('events/x.ts', 'export const b = 3;\n');
    expect(prebuiltEntry(dir)).toBeUndefined();
    build();
    fs.rmSync(path.join(dir, 'cli/main.ts'));
    expect(prebuiltEntry(dir)).toBeUndefined();
    build();
    fs.rmSync(path.join(dir, PREBUILT_ENTRY));
    expect(prebuiltEntry(dir)).toBeUndefined();
    fs.rmSync(path.join(dir, SOURCES_FILE));
    expect(prebuiltEntry(dir)).toBeUndefined();
  });
});

describe('lean helpers', () => {
  it('randomUuid makes version-4 UUIDs, none repeated', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = randomUuid();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(2000);
  });

  it('randomBytes gives as many bytes as asked, never the same twice', () => {
    const seen = new Set<string>();
    for (const size of [1, 8, 16, 64, 4096]) expect(randomBytes(size).length).toBe(size);
    for (let i = 0; i < 2000; i++) seen.add(randomBytes(8).toString('hex'));
    expect(seen.size).toBe(2000);
  });

  it('monotonicMs keeps step with performance.now()', async () => {
    const a = [monotonicMs(), performance.now()] as const;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const b = [monotonicMs(), performance.now()] as const;
    expect(b[0] - a[0]).toBeGreaterThanOrEqual(45);
    expect(Math.abs(b[0] - a[0] - (b[1] - a[1]))).toBeLessThan(5);
  });
});
