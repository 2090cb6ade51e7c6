// Herald's command line: picks the command, runs it, turns its errors into a message and an exit
// code (0 done, 1 failed, 2 bad command line; `run` passes on its command's own code).
// Commands are imported when used, so `herald send` does not load the server's SQLite and Express.
import { CommandError, EXIT_FAILURE, EXIT_USAGE, nearest, UsageError } from './options.ts';
import { describeError } from '../events/errors.ts';
import { DEFAULT_SERVER_URL } from '../events/net.ts';

export const USAGE = `Usage: herald <command> [options]

Desktop notifications the moment your long-running job is done.

Commands:
  send MESSAGE         publish one event
  run -- CMD [ARGS]    run a command and report it as a job (started, then
                       completed or failed, with exit code and output tail)
  serve                run the companion server (${DEFAULT_SERVER_URL})
  listen               print events from the server as they arrive
  help [COMMAND]       show a command's help (same as herald COMMAND --help)

Options:
  -h, --help           show this help
  --version            print Herald's version

Environment:
  HERALD_SERVER        server URL for send, run and listen (default ${DEFAULT_SERVER_URL})
  HERALD_TOKEN         bearer token (same as --token)
  HERALD_DATA_DIR      where \`herald serve\` keeps its event log

Examples:
  herald serve
  herald send "build done"
  herald run -- make
`;

const COMMANDS = ['send', 'run', 'serve', 'listen', 'help'] as const;

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  // Getters: Node makes process.stdin/stdout/stderr on first use, and a file or a terminal there
  // loads fs streams (and fs/promises, readline…) or tty: several ms that `herald send MESSAGE`,
  // which never reads stdin, need not pay.
  const io = {
    get stdin() {
      return process.stdin;
    },
    get stdout() {
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
    env: process.env,
  };
  if (first === undefined) {
    process.stderr.write(USAGE);
    return EXIT_USAGE;
  }
  if (first === 'help' || first === '--help' || first === '-h') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic === undefined || topic === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (!(COMMANDS as readonly string[]).includes(topic)) return unknownCommand(topic);
    return main([topic, '--help']);
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    // Loaded here only: node:fs as an ES module costs every other command its start-up (see options.ts).
    const { packageVersion } = await import('../server/package.ts');
    process.stdout.write(`herald ${packageVersion()}\n`);
    return 0;
  }

  try {
    switch (first) {
      case 'send':
        return await (await import('./send.ts')).send(rest, io);
      case 'run':
        return await (await import('./run.ts')).run(rest, io);
      case 'serve':
        return await (await import('./serve.ts')).serve(rest, io);
      case 'listen':
        // cli/listen.ts prints its own output and returns its exit code.
        return await (await import('./listen.ts')).listen(rest);
      default:
        return unknownCommand(first);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`herald ${first}: ${err.message}\nRun 'herald ${first} --help' for usage.\n`);
      return EXIT_USAGE;
    }
    if (err instanceof CommandError) {
      process.stderr.write(`herald: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`herald: unexpected error, please report it: ${describeError(err, { stack: true })}\n`);
    return EXIT_FAILURE;
  }
}

function unknownCommand(name: string): number {
  const meant = name.startsWith('-') ? undefined : nearest(name, COMMANDS);
  const hint = name.startsWith('-') ? `unknown option "${name}"` : `unknown command "${name}"${meant ? ` (did you mean ${meant}?)` : ''}`;
  process.stderr.write(`herald: ${hint}. Commands: ${COMMANDS.join(', ')}.\nRun 'herald --help' for usage.\n`);
  return EXIT_USAGE;
}
