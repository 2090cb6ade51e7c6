// `herald send`: publish one event and print its id.
import { LIMITS } from '../events/event.ts';
import { jsonLine } from '../events/terminal.ts';
import { CommandError, parseCommandArgs, priorityFlag, resolveServer, SERVER_OPTIONS, stringFlag, UsageError } from './options.ts';
import type { OptionSpec } from './options.ts';
import { PublishError } from './publish.ts';
import type { EventDraft } from './publish.ts';
import { publishWithRetry, retryLine } from './publish-retry.ts';
import { DEFAULT_SERVER_URL } from '../events/net.ts';

export const SEND_USAGE = `Usage: herald send [options] MESSAGE
       some-command | herald send [options] [-]

Publish one event to a Herald server and print its id. MESSAGE is the event's
body (several words are joined with spaces); it is read from stdin when it is
"-", or when it is left out and stdin is not a terminal. The title defaults to
the message's first line.

Options:
  --server URL     Herald server (env HERALD_SERVER, default ${DEFAULT_SERVER_URL})
  --token T        bearer token, if the server has one (env HERALD_TOKEN)
  --topic T        topic, [A-Za-z0-9_-], default "default"
  --title T        title (default: the message's first line)
  --priority N     1 min, 2 low, 3 default, 4 high, 5 urgent (or the name)
  --tags a,b       comma-separated tags
  --url U          http(s) link opened when the notification is clicked
  --type T         event type, default "notification" (e.g. deploy.done)
  --json           print the stored event as JSON instead of its id
  -h, --help       show this help

A publish whose answer is lost (no answer in 10 s, a connection reset) is tried
again, at most 3 times in all, with a line on stderr each time; the event carries
an Idempotency-Key, so the server stores it once however many tries reach it.

Exit status: 0 stored, 1 refused or server unreachable, 2 bad command line.

Example:
  herald send --title "Backup" --priority 4 --tags backup,nightly "backup finished"
`;

const OPTIONS = {
  ...SERVER_OPTIONS,
  topic: { type: 'string' },
  title: { type: 'string' },
  priority: { type: 'string' },
  tags: { type: 'string' },
  url: { type: 'string' },
  type: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface SendIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  /** Progress lines (a retried publish). */
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export async function send(argv: string[], io: SendIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('send', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(SEND_USAGE);
    return 0;
  }
  const target = resolveServer(values, io.env);
  const priorityValue = stringFlag(values, 'priority');
  const priority = priorityValue === undefined ? undefined : priorityFlag('send', priorityValue);

  let body: string | undefined;
  if (positionals.length === 1 && positionals[0] === '-') body = await readMessage(io.stdin);
  else if (positionals.length > 0) body = positionals.join(' ');
  else if (!io.stdin.isTTY) body = await readMessage(io.stdin);

  const title = stringFlag(values, 'title');
  if ((body === undefined || body === '') && title === undefined) {
    throw new UsageError('send', 'nothing to send: give a MESSAGE, pipe one into stdin, or pass --title');
  }

  const event: EventDraft = {};
  const type = stringFlag(values, 'type');
  if (type !== undefined) event.type = type;
  const topic = stringFlag(values, 'topic');
  if (topic !== undefined) event.topic = topic;
  if (title !== undefined) event.title = title;
  if (body !== undefined && body !== '') event.body = body;
  if (priority !== undefined) event.priority = priority;
  const tags = stringFlag(values, 'tags');
  if (tags !== undefined)
    event.tags = tags
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  const url = stringFlag(values, 'url');
  if (url !== undefined) event.url = url;

  try {
    const stored = await publishWithRetry(target, event, {
      onRetry: (info) =>
        io.stderr.write(`herald: publishing to ${target.url}: ${retryLine(info)}
`),
    });
    io.stdout.write(
      values.json
        ? `${jsonLine(stored)}
`
        : `${stored.id}
`,
    );
    return 0;
  } catch (err) {
    if (err instanceof PublishError) throw new CommandError(err.message);
    throw err;
  }
}

/** Reads the message from stdin, without its trailing line breaks (`echo done | herald send`). */
async function readMessage(stdin: NodeJS.ReadableStream): Promise<string> {
  // Far more than the server accepts, but bounded: a runaway pipe must not fill memory.
  const maxBytes = LIMITS.bodyBytes;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > maxBytes) {
      throw new CommandError(
        `the message on stdin is longer than ${maxBytes} bytes; an event body holds at most ${LIMITS.bodyLength} characters`,
      );
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/[\r\n]+$/, '');
}
