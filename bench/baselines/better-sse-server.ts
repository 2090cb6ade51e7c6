// Baseline 2: what a careful user would build with a library: one better-sse channel on Express.
// `GET /events` registers a session on the channel, `POST /events` stamps an id and a time on the
// JSON body (like Herald, so the payload streamed is the same size) and broadcasts it in memory.
// Nothing is stored, nothing is replayed, no slow subscriber is cut off.
import express from 'express';
import { createChannel, createSession } from 'better-sse';
import { listenBaseline, type BaselineOptions, type RunningBaseline } from './seed-server.ts';

export async function startBetterSseServer(options: BaselineOptions = {}): Promise<RunningBaseline> {
  const channel = createChannel();
  let nextId = 1;
  const app = express();
  app.use(express.json());

  app.get('/events', async (req, res) => {
    const session = await createSession(req, res);
    channel.register(session);
  });

  app.post('/events', (req, res) => {
    const event = { id: String(nextId++), time: new Date().toISOString(), ...(req.body as object) };
    channel.broadcast(event, 'notification', { eventId: event.id });
    res.status(201).json(event);
  });

  return listenBaseline(app, options, 0);
}
