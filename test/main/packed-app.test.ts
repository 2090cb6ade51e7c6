// The desktop app as electron-builder packs it, tested here although no Electron can run:
// 1. electron-builder packs it offline (`--linux dir`) around a stand-in shaped like Electron's
//    zip (an `electron` file carrying the fuse wire: sentinel, version byte, length byte, fuses);
//    app.asar is read back with @electron/asar: entry, CommonJS preload, page, server code, no
//    devDependency, every .node file unpacked, one platform's SQLite binary, the size budget.
// 2. The packed main process (extracted from app.asar) runs under Node with a recording stand-in
//    for the `electron` module (electron-stand-in.ts), from start to quit, as a user would use it.

import { execFile, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import asar from '@electron/asar';
import { getConfig } from 'app-builder-lib/out/util/config/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvokeChannel, TOKEN_KEPT, type AppStatus, type Settings } from '../../bridge/contract.ts';
import type { HeraldEvent } from '../../events/event.ts';
import { STORE_VERSION, storeDefaults } from '../../main/herald-store.ts';
import { tempDir, until } from './platform-double.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  version: string;
  main: string;
  productName: string;
  desktopName: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
const electronVersion = (
  JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }
).version;

/** The app's own share of resources/: app.asar and app.asar.unpacked (issue #8's budget). */
const RESOURCES_BUDGET_BYTES = 12 * 1024 * 1024;

// @electron/fuses: the wire follows this sentinel: a version byte (1), a length byte, one byte per
// fuse ('0' off, '1' on). The order is FuseV1Options'.
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const FUSES = [
  'runAsNode',
  'enableCookieEncryption',
  'enableNodeOptionsEnvironmentVariable',
  'enableNodeCliInspectArguments',
  'enableEmbeddedAsarIntegrityValidation',
  'onlyLoadAppFromAsar',
  'loadBrowserProcessSpecificV8Snapshot',
  'grantFileProtocolExtraPrivileges',
];
/** Electron's own defaults, as its binary ships them. */
const SHIPPED = '10110001';

/** A folder shaped like Electron's Linux zip, with a binary that is only a fuse wire. */
function electronStandIn(dir: string): void {
  fs.mkdirSync(path.join(dir, 'locales'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'resources'));
  const wire = Buffer.concat([Buffer.from(FUSE_SENTINEL), Buffer.from([1, FUSES.length]), Buffer.from(SHIPPED)]);
  fs.writeFileSync(path.join(dir, 'electron'), Buffer.concat([Buffer.from('\x7fELF stand-in\n'), wire, Buffer.alloc(256)]), {
    mode: 0o755,
  });
  fs.writeFileSync(path.join(dir, 'version'), electronVersion);
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'stand-in');
  fs.writeFileSync(path.join(dir, 'locales', 'en-US.pak'), 'stand-in');
}

function fuseStates(binary: string): Record<string, boolean> {
  const data = fs.readFileSync(binary);
  const at = data.indexOf(FUSE_SENTINEL) + FUSE_SENTINEL.length;
  const states: Record<string, boolean> = {};
  FUSES.forEach((name, i) => (states[name] = data[at + 2 + i] === 0x31));
  return states;
}

function sizeOf(entry: string): number {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.size;
  return fs.readdirSync(entry).reduce((sum, name) => sum + sizeOf(path.join(entry, name)), 0);
}

const work = tempDir('herald-packed-');
const out = path.join(work, 'release');
const unpacked = path.join(out, 'linux-unpacked');
const archive = path.join(unpacked, 'resources', 'app.asar');
const extracted = path.join(work, 'app');
let packLog = '';

beforeAll(async () => {
  electronStandIn(path.join(work, 'electron-dist'));
  const cli = path.join(root, 'node_modules', 'electron-builder', 'cli.js');
  const args = [
    '--config',
    'electron-builder.yml',
    '--linux',
    'dir',
    '--x64',
    `-c.electronDist=${path.join(work, 'electron-dist')}`,
    `-c.directories.output=${out}`,
  ];
  const r = await promisify(execFile)(process.execPath, [cli, ...args], {
    cwd: root,
    timeout: 240_000,
    env: { ...process.env, CI: 'true' },
  }).catch((err: { stdout: string; stderr: string }) => err);
  packLog = `${r.stdout}\n${r.stderr}`;
  if (fs.existsSync(archive)) asar.extractAll(archive, extracted);
}, 300_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('packed by electron-builder (offline, --linux dir)', () => {
  const files = () =>
    asar.listPackage(archive, { isPack: false }).map((f) =>
      f
        .replace(/^[\\/]/, '')
        .split(path.sep)
        .join('/'),
    );

  it('packs the app around the stand-in Electron and sets the fuses', async () => {
    expect(fs.existsSync(archive), `electron-builder made no app.asar:\n${packLog}`).toBe(true);
    expect(fs.readdirSync(unpacked).sort(), packLog).toEqual(['LICENSE.electron.txt', 'herald-desktop', 'locales', 'resources', 'version']);
    // The executable is renamed to linux.executableName and its fuses flipped as configured.
    // electron-builder.yml's fuses (packaging.test.ts holds their values); the rest as shipped.
    const config = await getConfig(root, path.join(root, 'electron-builder.yml'), null);
    const shipped = Object.fromEntries(FUSES.map((name, i) => [name, SHIPPED[i] === '1']));
    expect(fuseStates(path.join(unpacked, 'herald-desktop'))).toEqual({ ...shipped, ...config.electronFuses });
    expect(fuseStates(path.join(unpacked, 'herald-desktop'))).not.toEqual(shipped);
  });

  it('holds the main entry, a CommonJS preload, the window page, the server code and the icons', () => {
    const list = new Set(files());
    const packed = JSON.parse(asar.extractFile(archive, 'package.json').toString()) as typeof pkg;
    expect(packed).toMatchObject({
      main: 'dist/main/main.js',
      productName: 'Herald',
      desktopName: 'dev.herald.app.desktop',
      version: pkg.version,
    });
    for (const file of [
      'dist/main/main.js',
      'dist/main/local-server-process.js',
      'dist/preload/preload.cjs',
      'dist/renderer/index.html',
      'dist/server/serve.js',
      'dist/server/routes.js',
      'dist/icons/herald.png',
      'dist/icons/tray-connected.png',
      'dist/icons/tray-offlineTemplate@2x.png',
    ]) {
      expect(list.has(file), file).toBe(true);
    }
    const preload = asar.extractFile(archive, 'dist/preload/preload.cjs').toString();
    expect(preload).toMatch(/require\(["']electron["']\)/);
    expect(preload).not.toMatch(/^\s*(import|export)\s/m);
    expect([...list].filter((f) => f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
  });

  it('packs no devDependency, and only production packages from the lockfile', () => {
    const modules = new Set(
      files()
        .filter((f) => f.startsWith('node_modules/'))
        .map((f) =>
          f
            .split('/')
            .slice(0, f.startsWith('node_modules/@') ? 3 : 2)
            .join('/'),
        ),
    );
    expect(modules.size).toBeGreaterThan(10);
    for (const dev of Object.keys(pkg.devDependencies)) expect(modules.has(`node_modules/${dev}`), dev).toBe(false);
    const devOnly = [...modules].filter((m) => lock.packages[m]?.dev === true);
    expect(devOnly).toEqual([]);
    for (const dep of Object.keys(pkg.dependencies)) expect(modules.has(`node_modules/${dep}`), dep).toBe(true);
  });

  it("unpacks every .node file (a native module cannot load from the archive) and packs only the target's SQLite binary, no C sources", () => {
    const nodeFiles = files().filter((f) => f.endsWith('.node'));
    expect(nodeFiles).toEqual(['node_modules/better-sqlite3/prebuilds/linux-x64.node']);
    for (const file of nodeFiles) {
      expect((asar.statFile(archive, file) as { unpacked?: boolean }).unpacked, file).toBe(true);
      expect(fs.existsSync(path.join(`${archive}.unpacked`, file)), file).toBe(true);
    }
    expect(files().filter((f) => /better-sqlite3\/(deps|src)\/|binding\.gyp$|node-addon-api/.test(f))).toEqual([]);
  });

  it(`keeps the app's share of resources/ within ${RESOURCES_BUDGET_BYTES / 1024 / 1024} MB`, () => {
    const bytes = sizeOf(archive) + sizeOf(`${archive}.unpacked`);
    console.log(
      `packed app: app.asar ${(sizeOf(archive) / 1e6).toFixed(1)} MB + app.asar.unpacked ${(sizeOf(`${archive}.unpacked`) / 1e6).toFixed(1)} MB`,
    );
    expect(bytes).toBeLessThanOrEqual(RESOURCES_BUDGET_BYTES);
  });
});

// ---- the packed main process under Node --------------------------------------------------

interface Record_ {
  kind: string;
  data: unknown;
}

/** The packed main process in a child Node, `electron` replaced by the recording stand-in. */
class PackedApp {
  readonly child: ChildProcess;
  readonly records: Record_[] = [];
  readonly exited: Promise<number | null>;
  #next = 0;
  #replies = new Map<number, (reply: { ok: boolean; value?: unknown; error?: string }) => void>();
  stderr = '';

  constructor(env: Record<string, string>) {
    const hooks = new URL('./electron-stand-in-hooks.ts', import.meta.url).href;
    this.child = fork(path.join(extracted, pkg.main), [], {
      cwd: extracted,
      execArgv: ['--import', hooks],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.on(
      'message',
      (m: { type: string; kind?: string; data?: unknown; id?: number; ok?: boolean; value?: unknown; error?: string }) => {
        if (m.type === 'record') this.records.push({ kind: m.kind!, data: m.data });
        else if (m.type === 'reply') this.#replies.get(m.id!)?.(m as { ok: boolean });
      },
    );
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  all<T = unknown>(kind: string): T[] {
    return this.records.filter((r) => r.kind === kind).map((r) => r.data as T);
  }

  last<T = unknown>(kind: string): T | undefined {
    return this.all<T>(kind).at(-1);
  }

  async waitFor<T = unknown>(kind: string, match: (data: T) => boolean = () => true, ms = 20_000): Promise<T> {
    const found = await until(
      () => this.all<T>(kind).find(match) ?? null,
      ms,
      `${kind} from the packed app (stderr: ${this.stderr.slice(-2000)})`,
    );
    return found as T;
  }

  /** Acts as the user or the OS inside the app (electron-stand-in.ts `run`). */
  async command<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#next;
    const reply = new Promise<{ ok: boolean; value?: unknown; error?: string }>((resolve) => this.#replies.set(id, resolve));
    this.child.send({ id, cmd, ...args });
    const r = await reply;
    if (!r.ok) throw new Error(r.error);
    return r.value as T;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function writeConfig(userData: string, settings: Partial<Settings>): void {
  fs.mkdirSync(userData, { recursive: true });
  const store = { ...storeDefaults(), __internal__: { migrations: { version: STORE_VERSION } } };
  store.settings = { ...store.settings, ...settings };
  fs.writeFileSync(path.join(userData, 'config.json'), JSON.stringify(store, null, '\t'));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the packed main process, run under Node with a recording electron', () => {
  const apps: PackedApp[] = [];
  afterAll(() => apps.forEach((a) => a.kill()));
  const launch = (env: Record<string, string>) => {
    const a = new PackedApp(env);
    apps.push(a);
    return a;
  };

  it('starts its server in its own process, notifies with escaped text, opens only https links, refuses foreign frames, and quits with the server', async () => {
    expect(fs.existsSync(path.join(extracted, pkg.main)), 'the app was not packed (see the first test)').toBe(true);
    const port = await freePort();
    const userData = path.join(work, 'user-data');
    const serverUrl = `http://127.0.0.1:${port}`;
    // An older Herald's file: the token in plain text.
    writeConfig(userData, { serverUrl, runLocalServer: true, token: 'packed-token-1' });
    const app = launch({ HERALD_USER_DATA_DIR: userData, HERALD_DATA_DIR: path.join(work, 'server-data') });

    // The local server comes up in a process of its own and reports the real version.
    const spawned = await app.waitFor<{ entry: string; pid: number }>('utility-spawn');
    expect(spawned.entry).toBe(path.join('dist', 'main', 'local-server-process.js'));
    expect([process.pid, app.child.pid]).not.toContain(spawned.pid);
    let health: unknown = null;
    for (const end = Date.now() + 20_000; health === null && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      health = await fetch(`${serverUrl}/health`).then(
        (r) => r.json(),
        () => null,
      );
    }
    expect(health).toMatchObject({ status: 'ok', version: pkg.version });

    // The token left config.json (sealed by safeStorage); the local server was started with it.
    const onDisk = fs.readFileSync(path.join(userData, 'config.json'), 'utf8');
    expect(onDisk).not.toContain('packed-token-1');
    expect(JSON.parse(onDisk)).toMatchObject({ settings: { token: '' }, sealedToken: expect.stringMatching(/.{16,}/) });
    expect((await fetch(`${serverUrl}/events`, { method: 'POST', body: 'no token' })).status).toBe(401);

    await app.waitFor<string>('tray-tooltip', (t) => t.includes('Connected'));
    expect(app.all<{ file: string; exists: boolean }>('image').every((i) => i.exists)).toBe(true);
    expect(app.last('app-user-model-id')).toBe('dev.herald.app');

    const publish = async (body: Record<string, unknown>) => {
      const res = await fetch(`${serverUrl}/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer packed-token-1' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(201);
      return (await res.json()) as HeraldEvent;
    };
    await publish({ title: 'Deploy <prod> & co', body: '<b>all</b> green & done', url: 'https://ci.example.test/runs/7', priority: 4 });
    const shown = await app.waitFor<{ index: number; title: string; body: string; urgency: string }>(
      'notification',
      (n) => n.title === 'Deploy <prod> & co',
    );
    // Linux notification servers read the body as markup: escaped, it shows as sent.
    expect(shown).toMatchObject({ body: '&lt;b&gt;all&lt;/b&gt; green &amp; done', urgency: 'normal' });
    await app.command('click-notification', { index: shown.index });
    await app.waitFor('open-external');
    expect(app.all('open-external')).toEqual(['https://ci.example.test/runs/7']);

    await publish({ title: 'no link here' });
    const plain = await app.waitFor<{ index: number; title: string }>('notification', (n) => n.title === 'no link here');
    await app.command('click-notification', { index: plain.index });
    const opened = await app.waitFor<{ file: string; hash: string; exists: boolean }>('window-load');
    expect(opened).toEqual({ file: path.join('dist', 'renderer', 'index.html'), hash: 'history', exists: true });
    expect(app.all('open-external')).toHaveLength(1);
    const window = app.last<{ webPreferences: Record<string, unknown> }>('window')!;
    expect(window.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      preload: path.join(extracted, 'dist', 'preload', 'preload.cjs'),
    });

    // Every IPC channel is registered, and each refuses a frame that is not the app's own page.
    const page = `file://${path.join(extracted, 'dist', 'renderer', 'index.html')}`;
    expect((await app.command<string[]>('channels')).sort()).toEqual(Object.values(InvokeChannel).sort());
    for (const channel of Object.values(InvokeChannel)) {
      for (const frame of [
        { senderUrl: 'https://evil.example.test/' },
        { senderUrl: `${page}#history`, subframe: true },
        { senderUrl: 'file:///tmp/other.html' },
        { senderUrl: null },
      ]) {
        await expect(app.command('invoke', { channel, args: [], ...frame }), `${channel} from ${JSON.stringify(frame)}`).rejects.toThrow(
          /Refused: only the Herald window/,
        );
      }
    }
    // The app's own page is answered; the token never comes back in full.
    const status = await app.command<AppStatus>('invoke', { channel: InvokeChannel.GetStatus, senderUrl: `${page}#history` });
    expect(status).toMatchObject({ host: 'desktop', feed: { status: 'open' }, localServer: { status: 'running' }, tokenStorage: 'os' });
    expect(await app.command<Settings>('invoke', { channel: InvokeChannel.GetSettings, senderUrl: page })).toMatchObject({
      token: TOKEN_KEPT,
      serverUrl,
    });
    await expect(app.command('invoke', { channel: InvokeChannel.OpenUrl, args: ['javascript:alert(1)'], senderUrl: page })).rejects.toThrow(
      /Only http/,
    );

    // The session refuses remote content and sets the CSP.
    expect(await app.command('request', { url: 'https://evil.example.test/x.js' })).toEqual({ cancel: true });
    expect(await app.command('request', { url: page })).toEqual({ cancel: false });
    expect(await app.command('headers', { url: page })).toMatchObject({
      responseHeaders: { 'Content-Security-Policy': [expect.stringContaining("default-src 'none'")] },
    });

    // The tray's pause items work from the packed menu.
    await app.command('click-tray', { label: 'For 1 hour' });
    await app.waitFor<string>('tray-tooltip', (t) => /Paused until/.test(t));

    // Quit: the server process closes and exits by itself first, then the app ends.
    const t0 = Date.now();
    await app.command('quit');
    expect(await app.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3_500);
    expect(app.last('utility-exit')).toMatchObject({ pid: spawned.pid, code: 0 });
    expect(app.all('utility-kill')).toEqual([]);
    const kinds = app.records.map((r) => r.kind);
    expect(kinds.indexOf('utility-exit')).toBeLessThan(kinds.lastIndexOf('quit'));
    expect(processAlive(spawned.pid)).toBe(false);
    expect(
      await fetch(`${serverUrl}/health`).then(
        () => 'answered',
        () => 'closed',
      ),
    ).toBe('closed');
  }, 90_000);

  it('tells the user, not only stderr: notifications unsupported and a settings file moved aside show in the tray', async () => {
    const userData = path.join(work, 'user-data-broken');
    fs.mkdirSync(userData, { recursive: true });
    fs.writeFileSync(path.join(userData, 'config.json'), '{ not json');
    const app = launch({
      HERALD_USER_DATA_DIR: userData,
      HERALD_DATA_DIR: path.join(work, 'server-data-2'),
      STANDIN_NO_NOTIFICATIONS: '1',
    });
    const menu = await app.waitFor<string[]>('tray-menu', (labels) => labels.filter((l) => l.startsWith('⚠')).length === 2);
    expect(menu[0]).toMatch(/^⚠ The settings file could not be read .*moved to .*config\.broken-\d+\.json/);
    expect(menu[1]).toMatch(/^⚠ This desktop cannot show notifications/);
    expect(fs.readdirSync(userData).some((f) => /^config\.broken-\d+\.json$/.test(f))).toBe(true);
    await app.command('quit');
    expect(await app.exited).toBe(0);
  }, 60_000);

  it('opens the window on first start and when no tray can be shown, so the app is never invisible', async () => {
    // A user's first start, in the user's own folders (no HERALD_USER_DATA_DIR). With default
    // settings it also starts its local server on 127.0.0.1:5080 for the moment it runs (if that
    // port is taken, the server reports it and nothing here depends on it).
    const appData = path.join(work, 'app-data');
    const first = launch({ STANDIN_APP_DATA: appData, HERALD_DATA_DIR: path.join(work, 'server-data-3') });
    await first.waitFor('window-load');
    await first.command('quit');
    expect(await first.exited).toBe(0);
    // The settings stay where Herald kept them before it was named "Herald" (Electron's default
    // would now be app-data/Herald): on Linux ~/.config/herald.
    expect(fs.readdirSync(appData)).toEqual(['herald']);
    expect(fs.existsSync(path.join(appData, 'herald', 'config.json'))).toBe(true);

    const userData = path.join(work, 'user-data-no-tray');
    writeConfig(userData, { runLocalServer: false });
    const noTray = launch({ HERALD_USER_DATA_DIR: userData, HERALD_DATA_DIR: path.join(work, 'server-data-4'), STANDIN_NO_TRAY: '1' });
    expect(await noTray.waitFor<{ hash: string }>('window-load')).toMatchObject({ hash: 'history' });
    expect(noTray.all('tray')).toEqual([]);
    // macOS: re-opened from the Finder or the Dock while running.
    await noTray.command('emit-app', { event: 'activate' });
    await noTray.command('quit');
    expect(await noTray.exited).toBe(0);
  }, 60_000);

  it('a start that fails shows a dialog saying what to do, and exits 1', async () => {
    // userData is a file: neither store can be created there.
    const notADir = path.join(work, 'user-data-file');
    fs.writeFileSync(notADir, 'not a folder');
    const app = launch({ HERALD_USER_DATA_DIR: notADir, HERALD_DATA_DIR: path.join(work, 'server-data-5') });
    expect(await app.exited).toBe(1);
    expect(app.last('dialog')).toMatchObject({
      title: 'Herald could not start',
      content: expect.stringMatching(/ENOTDIR|not a directory[\s\S]*Start Herald again/),
    });
  }, 60_000);
});
