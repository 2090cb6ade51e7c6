#!/usr/bin/env node
// Herald's command line. Installed (`npm ci` and `npm install` run `npm run build`), it runs the
// prebuilt JavaScript in dist/cli; in a checkout whose TypeScript changed since that build, it
// runs the sources directly: Node strips the types itself (by default from 22.18 and 23.6; 22.12
// to 22.17 need the flag, so we re-run with it). Either way V8's compiled code is cached on disk
// (module.enableCompileCache), so a start after the first skips compiling it again. An older Node
// gets one sentence saying which Node to install, and exit code 1.
// HERALD_CLI_FROM_SOURCE=1 runs the sources even when the build is fresh (tests of that path).
import module from 'node:module';
import { CLI_NODE, checkNode } from './node-version.js';

if (!checkNode(CLI_NODE, 'the herald command')) {
  process.exitCode = 1;
} else {
  module.enableCompileCache?.();
  // Imported after the check: it uses what only a Node that passes it has (process.getBuiltinModule).
  const { prebuiltEntry } = await import('./prebuilt.js');
  const prebuilt = process.env.HERALD_CLI_FROM_SOURCE === '1' ? undefined : prebuiltEntry();
  if (prebuilt !== undefined) {
    const { main } = await import(prebuilt);
    process.exitCode = await main(process.argv.slice(2));
  } else if (!process.features.typescript) {
    await reRunWithTypeStripping();
  } else {
    const { main } = await import('../cli/main.ts');
    process.exitCode = await main(process.argv.slice(2));
  }
}

/**
 * Runs this file again in a child Node that strips types, and stands in for it: the child's exit
 * code (or its signal, raised again on this process) is ours, and what a service manager or
 * `kill` sends to us reaches the child (`herald run` then passes it on to its command). A Ctrl-C
 * typed in a terminal already reaches the child (the whole foreground group gets it), so SIGINT
 * is passed on only when no terminal is ours.
 */
async function reRunWithTypeStripping() {
  const { spawn } = await import('node:child_process');
  const { constants } = await import('node:os');
  const { fileURLToPath } = await import('node:url');
  const child = spawn(
    process.execPath,
    ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  const fromTerminal = Boolean(process.stdin.isTTY || process.stderr.isTTY);
  const forward = (signal) => {
    if (signal === 'SIGINT' && fromTerminal) return;
    child.kill(signal);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, forward);
  const [code, signal] = await new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`herald: could not start Node again with --experimental-strip-types: ${err.message}\n`);
      resolve([1, null]);
    });
    child.on('exit', (c, s) => resolve([c, s]));
  });
  for (const s of signals) process.off(s, forward);
  if (signal) {
    // Die the same way, so a shell sees what the user would have seen without this wrapper.
    process.kill(process.pid, signal);
    process.exitCode = 128 + (constants.signals[signal] ?? 0);
    return;
  }
  process.exitCode = code ?? 1;
}
