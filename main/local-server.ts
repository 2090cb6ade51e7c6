// The companion server in a utility process (so a server crash cannot take the app down). The
// restart-with-backoff logic is LocalServerSupervisor's (pure); this file only spawns processes.

import { utilityProcess } from 'electron';
import type {
  FromServerMessage,
  LocalServerOptions,
  ServerProcess,
  ServerProcessEvents,
  ToServerMessage,
} from './local-server-supervisor.ts';

/** How long a server gets to close its streams and its log before it is killed. */
const STOP_GRACE_MS = 3000;

export function spawnServerProcess(
  entry: string,
  options: LocalServerOptions,
  events: ServerProcessEvents,
  log: (line: string) => void,
): ServerProcess {
  const child = utilityProcess.fork(entry, [], { serviceName: 'Herald companion server', stdio: 'pipe' });
  const send = (message: ToServerMessage) => child.postMessage(message);
  child.stdout?.on('data', (chunk: Buffer) => log(`[server] ${chunk.toString().trimEnd()}`));
  child.stderr?.on('data', (chunk: Buffer) => log(`[server] ${chunk.toString().trimEnd()}`));
  child.once('spawn', () => send({ type: 'start', options }));
  child.on('message', (message: FromServerMessage) => {
    if (message?.type === 'ready' && typeof message.url === 'string') events.ready(message.url);
    else if (message?.type === 'failed' && typeof message.message === 'string') events.failed(message.message);
  });
  child.once('exit', (code) => events.exited(code));
  return {
    stop() {
      send({ type: 'stop' });
      setTimeout(() => child.kill(), STOP_GRACE_MS).unref();
    },
  };
}
