// Registers every invoke channel of the contract with ipcMain. Each call is checked first: it
// must come from the top frame of the app's own page (isAppSender); the handler then validates
// its payload (ipc-handlers.ts).

import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { InvokeChannel } from '../bridge/contract.ts';
import { isAppSender, type IpcHandlers } from './ipc-handlers.ts';

export function senderIsApp(event: IpcMainInvokeEvent, appPageUrl: string): boolean {
  const frame = event.senderFrame;
  // Only the window's top frame; an iframe (there should be none) never speaks for the app.
  return frame !== null && frame.parent === null && isAppSender(frame.url, appPageUrl);
}

/** Returns a function that removes the handlers. */
export function registerIpc(handlers: IpcHandlers, appPageUrl: string, log: (line: string) => void): () => void {
  const channels = Object.values(InvokeChannel);
  for (const channel of channels) {
    ipcMain.handle(channel, (event, ...args: unknown[]) => {
      if (!senderIsApp(event, appPageUrl)) {
        log(`refused ${channel} from ${event.senderFrame?.url ?? 'a closed frame'}`);
        throw new Error('Refused: only the Herald window may call the app.');
      }
      return (handlers[channel] as (args: unknown[]) => Promise<unknown>)(args);
    });
  }
  return () => channels.forEach((c) => ipcMain.removeHandler(c));
}
