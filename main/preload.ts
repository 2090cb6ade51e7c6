// The window's only way to the app: a minimal HeraldBridge over the typed IPC contract, exposed
// as `window.herald`. Bundled into one CommonJS file (dist/preload/preload.cjs) because a
// sandboxed preload can neither use ES modules nor require local files. No raw ipcRenderer leaks.

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  BRIDGE_GLOBAL,
  InvokeChannel,
  PushChannel,
  type HeraldBridge,
  type InvokeContract,
  type PushContract,
} from '../bridge/contract.ts';

function invoke<C extends InvokeChannel>(channel: C, ...args: InvokeContract[C]['args']): Promise<InvokeContract[C]['result']> {
  return ipcRenderer.invoke(channel, ...args);
}

function subscribe<C extends PushChannel>(channel: C, listener: (payload: PushContract[C]) => void): () => void {
  // The renderer never sees the IPC event object (it carries `sender`).
  const forward = (_event: IpcRendererEvent, payload: PushContract[C]) => listener(payload);
  ipcRenderer.on(channel, forward);
  return () => {
    ipcRenderer.removeListener(channel, forward);
  };
}

const bridge: HeraldBridge = {
  host: 'desktop',
  getSettings: () => invoke(InvokeChannel.GetSettings),
  saveSettings: (patch) => invoke(InvokeChannel.SaveSettings, patch),
  getHistory: () => invoke(InvokeChannel.GetHistory),
  clearHistory: () => invoke(InvokeChannel.ClearHistory),
  deleteEvents: (ids) => invoke(InvokeChannel.DeleteEvents, ids),
  markRead: (upToId) => invoke(InvokeChannel.MarkRead, upToId),
  getStatus: () => invoke(InvokeChannel.GetStatus),
  setPaused: (until) => invoke(InvokeChannel.SetPaused, until),
  setLocalServer: (on) => invoke(InvokeChannel.SetLocalServer, on),
  openUrl: (url) => invoke(InvokeChannel.OpenUrl, url),
  dismissGap: () => invoke(InvokeChannel.DismissGap),
  onEvent: (listener) => subscribe(PushChannel.Event, listener),
  onStatus: (listener) => subscribe(PushChannel.Status, listener),
  onHistoryCleared: (listener) => subscribe(PushChannel.HistoryCleared, () => listener()),
};

contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, bridge);
