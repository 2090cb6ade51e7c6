// A recording test double of the Platform interface (what the core needs of Electron), plus
// helpers shared by the main-process tests. The Electron types it mentions come from electron.d.ts.

import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Conf from 'conf';
import type { PushChannel, PushContract } from '../../bridge/contract.ts';
import type {
  FromServerMessage,
  LocalServerOptions,
  ServerProcess,
  ServerProcessEvents,
  ToServerMessage,
} from '../../main/local-server-supervisor.ts';
import type { Platform, TrayView } from '../../main/platform.ts';
import type { NotificationSpec } from '../../main/policy.ts';
import {
  HeraldStore,
  historyOptions,
  storeOptions,
  type HeraldStoreOptions,
  type HistoryBackend,
  type HistoryData,
  type StoreBackend,
  type StoreData,
} from '../../main/herald-store.ts';

export interface ShownNotification {
  spec: NotificationSpec;
  click(): void;
  /** Closed because a later notification with the same tag replaced it. */
  replaced: boolean;
}

export class PlatformDouble implements Platform {
  readonly notifications: ShownNotification[] = [];
  readonly trays: TrayView[] = [];
  readonly pushes: { channel: PushChannel; payload: unknown }[] = [];
  readonly opened: string[] = [];
  readonly windows: ('history' | 'settings' | undefined)[] = [];
  readonly loginItem: boolean[] = [];
  readonly spawned: LocalServerOptions[] = [];
  quits = 0;
  /** What notificationsSupported() answers. */
  canNotify = true;
  /** How spawnServer starts a server; default: the real server process entry under Node. */
  spawnImpl: (options: LocalServerOptions, events: ServerProcessEvents) => ServerProcess;

  /** `serverDataDir`: where a local server started through spawnServer keeps its log (a temp dir). */
  constructor(options: { serverDataDir?: string } = {}) {
    const dataDir = options.serverDataDir;
    this.spawnImpl = (o, events) => {
      // Never let a test's server write to the user's real data dir.
      if (!dataDir) throw new Error('PlatformDouble: pass serverDataDir (a temp dir) to run a local server');
      return forkServerProcess(o, events, { HERALD_DATA_DIR: dataDir });
    };
  }

  notify(spec: NotificationSpec, onClick: () => void): void {
    for (const n of this.notifications) if (n.spec.tag === spec.tag) n.replaced = true;
    this.notifications.push({ spec, click: onClick, replaced: false });
  }
  notificationsSupported(): boolean {
    return this.canNotify;
  }
  setTray(view: TrayView): void {
    this.trays.push(view);
  }
  sendToRenderer<C extends PushChannel>(channel: C, payload: PushContract[C]): void {
    this.pushes.push({ channel, payload });
  }
  async openExternal(url: string): Promise<void> {
    this.opened.push(url);
  }
  showWindow(section?: 'history' | 'settings'): void {
    this.windows.push(section);
  }
  setLaunchAtLogin(on: boolean): void {
    this.loginItem.push(on);
  }
  spawnServer(options: LocalServerOptions, events: ServerProcessEvents): ServerProcess {
    this.spawned.push(options);
    return this.spawnImpl(options, events);
  }
  quit(): void {
    this.quits++;
  }

  /** Notifications still on screen (not replaced by a later one with the same tag). */
  get visible(): NotificationSpec[] {
    return this.notifications.filter((n) => !n.replaced).map((n) => n.spec);
  }
  /** The distinct tray states, in order. */
  get trayStates(): string[] {
    return this.trays.map((t) => t.state).filter((s, i, all) => i === 0 || all[i - 1] !== s);
  }
  pushed<C extends PushChannel>(channel: C): PushContract[C][] {
    return this.pushes.filter((p) => p.channel === channel).map((p) => p.payload as PushContract[C]);
  }
}

export const SERVER_PROCESS_ENTRY = fileURLToPath(new URL('../../main/local-server-process.ts', import.meta.url));

const children = new Set<ChildProcess>();

/** The app's server process entry, started with Node's fork instead of Electron's utilityProcess. */
export function forkServerProcess(
  options: LocalServerOptions,
  events: ServerProcessEvents,
  env: Record<string, string> = {},
): ServerProcess & { child: ChildProcess } {
  const child = fork(SERVER_PROCESS_ENTRY, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, ...env } });
  children.add(child);
  child.stderr?.resume();
  const send = (m: ToServerMessage) => {
    if (child.connected) child.send(m);
  };
  child.on('message', (m: FromServerMessage) => {
    if (m.type === 'ready') events.ready(m.url);
    else if (m.type === 'failed') events.failed(m.message);
  });
  child.on('exit', (code) => {
    children.delete(child);
    events.exited(code);
  });
  send({ type: 'start', options });
  return {
    child,
    stop() {
      send({ type: 'stop' });
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    },
  };
}

/** Kills any server process a test left behind. */
export async function killServerProcesses(): Promise<void> {
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Both store files in `dir` through conf (electron-store's engine), as the app opens them. */
export function openTestStore(dir: string, options: HeraldStoreOptions = {}): HeraldStore {
  const history = new Conf<HistoryData>({ ...historyOptions(dir), configName: 'history' }) as Conf<HistoryData> & HistoryBackend;
  const config = new Conf<StoreData>({ ...storeOptions({ cwd: dir, history }), configName: 'config' }) as Conf<StoreData> & StoreBackend;
  return new HeraldStore({ config, history }, options);
}

/** Polls until `check` returns a truthy value (or throws the last error after `ms`). */
export async function until<T>(check: () => T | undefined | null | false, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
