// Baseline 1: the founding note's example server, as written there: Express, express.json(), an
// EventEmitter, `GET /connect` subscribing the response to the emitter and writing `data: <json>`
// lines, `POST /message` emitting the JSON body. Only what stopped it from running was changed:
// the `cors` package is not installed here, so its one header is set by hand. Its character is
// kept on purpose (stray space after `data:`, no id, no heartbeat, no replay, no bound on a slow
// client's backlog): this is what a user would otherwise run.
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';

export interface BaselineOptions {
  /** Default 5080 (the note's port); 0 = ephemeral. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
}

export interface RunningBaseline {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens with an Express app as both baselines do, and closes it with its open streams. */
export async function listenBaseline(app: Express, options: BaselineOptions, defaultPort: number): Promise<RunningBaseline> {
  const host = options.host ?? '127.0.0.1';
  const server = app.listen(options.port ?? defaultPort, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function startSeedServer(options: BaselineOptions = {}): Promise<RunningBaseline> {
  const emitter = new EventEmitter();
  const app = express();

  app.use((_req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*'); // what cors() would send
    next();
  });
  app.use(express.json());

  app.get('/connect', (req, res) => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    const onMessage = (data: unknown) => {
      res.write(`data: ${JSON.stringify(data)} \n\n`);
    };
    emitter.on('message', onMessage);
    req.on('close', () => {
      emitter.removeListener('message', onMessage);
    });
  });

  app.post('/message', (req, res) => {
    emitter.emit('message', req.body);
    res.json({ status: 'ok' });
  });

  return listenBaseline(app, options, 5080);
}
