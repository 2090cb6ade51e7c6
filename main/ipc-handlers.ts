// The logic behind every ipcMain.handle: who may call (the app's own page only) and what they may
// pass (each payload checked before it reaches the core). No Electron import; ipc.ts registers
// these with ipcMain.

import { InvokeChannel, type InvokeContract } from '../bridge/contract.ts';
import { pauseUntilError } from '../bridge/settings.ts';
import { isEventId, isWebUrl } from '../events/event.ts';
import type { HeraldApp } from './herald-app.ts';

/** What the handlers need of the core. */
export type HostCommands = Pick<
  HeraldApp,
  | 'getSettings'
  | 'saveSettings'
  | 'getHistory'
  | 'clearHistory'
  | 'deleteEvents'
  | 'markRead'
  | 'status'
  | 'setPaused'
  | 'setLocalServer'
  | 'openUrl'
  | 'dismissGap'
>;

/** A payload the handler refuses; the renderer's invoke() rejects with this message. */
export class IpcPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpcPayloadError';
  }
}

/**
 * True when a message comes from the app's own window page: a file: URL whose path is the built
 * renderer's index.html (hash and query ignored). Anything else — a remote page, a data: URL, a
 * different local file, a frame with no URL — is refused.
 */
export function isAppSender(senderUrl: string | null | undefined, appPageUrl: string): boolean {
  if (!senderUrl) return false;
  try {
    const sender = new URL(senderUrl);
    const page = new URL(appPageUrl);
    return (
      sender.protocol === 'file:' &&
      page.protocol === 'file:' &&
      sender.host === page.host &&
      decodeURIComponent(sender.pathname) === decodeURIComponent(page.pathname)
    );
  } catch {
    return false;
  }
}

type Handler<C extends InvokeChannel> = (args: unknown[]) => Promise<InvokeContract[C]['result']>;
export type IpcHandlers = { [C in InvokeChannel]: Handler<C> };

function arity(args: unknown[], n: number, channel: string): void {
  if (args.length !== n) throw new IpcPayloadError(`${channel} takes ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`);
}

/** The most event ids one deleteEvents may name (more than the bounded history holds). */
const MAX_DELETE_IDS = 1000;

export function ipcHandlers(app: HostCommands, now: () => number = Date.now): IpcHandlers {
  return {
    [InvokeChannel.GetSettings]: async (args) => {
      arity(args, 0, 'getSettings');
      return app.getSettings();
    },
    [InvokeChannel.SaveSettings]: async (args) => {
      arity(args, 1, 'saveSettings');
      // Field by field validation (bridge/settings.ts); a bad patch changes nothing.
      return app.saveSettings(args[0]);
    },
    [InvokeChannel.GetHistory]: async (args) => {
      arity(args, 0, 'getHistory');
      return app.getHistory();
    },
    [InvokeChannel.ClearHistory]: async (args) => {
      arity(args, 0, 'clearHistory');
      app.clearHistory();
    },
    [InvokeChannel.DeleteEvents]: async (args) => {
      arity(args, 1, 'deleteEvents');
      const ids = args[0];
      // A window deletes one entry at a time (a job's events); the history holds at most a few hundred.
      if (
        !Array.isArray(ids) ||
        ids.length === 0 ||
        ids.length > MAX_DELETE_IDS ||
        !ids.every((id) => typeof id === 'string' && isEventId(id))
      ) {
        throw new IpcPayloadError(`deleteEvents needs 1 to ${MAX_DELETE_IDS} event ids (decimal digits)`);
      }
      app.deleteEvents(ids);
    },
    [InvokeChannel.MarkRead]: async (args) => {
      arity(args, 1, 'markRead');
      const id = args[0];
      if (typeof id !== 'string' || !isEventId(id)) throw new IpcPayloadError('markRead needs an event id (decimal digits)');
      app.markRead(id);
    },
    [InvokeChannel.GetStatus]: async (args) => {
      arity(args, 0, 'getStatus');
      return app.status();
    },
    [InvokeChannel.SetPaused]: async (args) => {
      arity(args, 1, 'setPaused');
      const until = args[0];
      if (until === null || until === false) return app.setPaused(until);
      if (typeof until !== 'number' || !Number.isFinite(until))
        throw new IpcPayloadError('setPaused takes a time (epoch ms), null (until resumed) or false (resume)');
      const error = pauseUntilError(until, now());
      if (error) throw new IpcPayloadError(`setPaused: ${error}`);
      app.setPaused(until);
    },
    [InvokeChannel.SetLocalServer]: async (args) => {
      arity(args, 1, 'setLocalServer');
      if (typeof args[0] !== 'boolean') throw new IpcPayloadError('setLocalServer takes true or false');
      app.setLocalServer(args[0]);
    },
    [InvokeChannel.OpenUrl]: async (args) => {
      arity(args, 1, 'openUrl');
      const url = args[0];
      if (typeof url !== 'string' || url.length > 2048 || !isWebUrl(url))
        throw new IpcPayloadError('Only http:// and https:// addresses can be opened.');
      await app.openUrl(url);
    },
    [InvokeChannel.DismissGap]: async (args) => {
      arity(args, 0, 'dismissGap');
      app.dismissGap();
    },
  };
}
