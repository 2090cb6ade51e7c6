// The benchmark children (servers under test, the load generator, the feed client) are driven by
// the runner over their stdin/stdout: one JSON object per line. stdout carries nothing else, so
// children log to stderr only.
import { createInterface } from 'node:readline';
import { describeError } from '../events/errors.ts';

export interface CommandMessage {
  id: number;
  cmd: string;
  args?: unknown;
}

export interface ReplyMessage {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export type CommandHandlers = Record<string, (args: any) => unknown>;

/** Announces `ready`, then answers the runner's commands until stdin closes. When the runner dies
 * its end of the pipe closes, so a child can never outlive it. */
export function serveCommands(ready: unknown, handlers: CommandHandlers, onExit?: () => void | Promise<void>): void {
  const send = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
  let exiting = false;
  const exit = async () => {
    if (exiting) return;
    exiting = true;
    try {
      await onExit?.();
    } finally {
      process.exit(0);
    }
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    const message = JSON.parse(line) as CommandMessage;
    if (message.cmd === 'exit') {
      send({ id: message.id, ok: true });
      void exit();
      return;
    }
    const handler = handlers[message.cmd];
    if (!handler) {
      send({ id: message.id, ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (result) => send({ id: message.id, ok: true, result }),
        (error: unknown) => send({ id: message.id, ok: false, error: describeError(error, { stack: true }) }),
      );
  });
  lines.on('close', () => void exit());
  process.on('SIGTERM', () => void exit());
  send({ ready: true, ...(ready as object) });
}
