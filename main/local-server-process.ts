// The entry of the companion server's own process: `utilityProcess.fork` in the app (so a server
// crash cannot take the app down), or `child_process.fork` in tests. It waits for a `start`
// message, calls startServer, and reports the URL (or why it could not start) to its parent.

import type { ParentPort } from 'electron';
import type { RunningServer } from '../server/serve.ts';
import type { FromServerMessage, ToServerMessage } from './local-server-supervisor.ts';

interface ParentLink {
  send(message: FromServerMessage): void;
  onMessage(listener: (message: ToServerMessage) => void): void;
}

function parentLink(): ParentLink {
  const port = (process as { parentPort?: ParentPort }).parentPort;
  if (port) {
    return {
      send: (m) => port.postMessage(m),
      onMessage: (listener) => port.on('message', (e) => listener(e.data as ToServerMessage)),
    };
  }
  if (process.send) {
    return {
      send: (m) => process.send!(m),
      onMessage: (listener) => process.on('message', (m) => listener(m as ToServerMessage)),
    };
  }
  throw new Error("This is the Herald app's server process: run `herald serve` to start a server by hand.");
}

const link = parentLink();
let server: RunningServer | null = null;

link.onMessage(async (message) => {
  if (message.type === 'start' && !server) {
    try {
      // Loaded here, not at the top: a native module built for another Node (better-sqlite3 not
      // rebuilt for Electron) is then reported to the app instead of killing this process silently.
      const { startServer } = await import('../server/serve.ts');
      server = await startServer({ ...message.options, log: (line) => process.stderr.write(`${line}\n`) });
      link.send({ type: 'ready', url: server.url });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      const why =
        e.code === 'EADDRINUSE' || e.cause?.code === 'EADDRINUSE'
          ? `Port ${message.options.port} is already in use: stop the other server there, or change the server address in the settings`
          : /NODE_MODULE_VERSION/.test(e.message)
            ? 'better-sqlite3 was built from source for another Node.js: run `npm rebuild better-sqlite3` to get its prebuilt N-API binary back'
            : `The server could not start: ${e.message}`;
      link.send({ type: 'failed', message: why });
      // Let the message leave before exiting.
      setTimeout(() => process.exit(1), 50);
    }
  } else if (message.type === 'stop') {
    await server?.close().catch(() => undefined);
    process.exit(0);
  }
});
