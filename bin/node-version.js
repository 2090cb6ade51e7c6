// Which Node.js Herald needs, said in one sentence instead of a stack trace. Plain JavaScript in
// the oldest syntax any Node still in use parses: it runs before anything that needs a newer one.
//   import { checkNode } from './node-version.js'   (bin/herald.js: the command line)
//   node bin/node-version.js                         (package.json build/test: the install step)

import { fileURLToPath } from 'node:url';

/** The install step and the tests: main/build.ts and vitest run TypeScript without a flag
 * (type stripping by default from 22.18); vitest supports 22 and 24+, not 23. Kept equal to
 * package.json `engines` (`^22.18.0 || >=24`) by test/install.test.ts. */
export const INSTALL_NODE = { range: '^22.18.0 || >=24', words: '22.18 or later (22.18+ or 24+)', oldest: '22.18.0', skip: ['23'] };
/** The command line alone: 22.12 to 22.17 strip types behind a flag, which bin/herald.js adds. */
export const CLI_NODE = { range: '>=22.12', words: '22.12 or later', oldest: '22.12.0', skip: [] };

function parts(version) {
  return String(version)
    .replace(/^v/, '')
    .split('.')
    .map((n) => Number.parseInt(n, 10) || 0);
}

function atLeast(version, oldest) {
  const a = parts(version);
  const b = parts(oldest);
  for (let i = 0; i < 3; i++) {
    if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
  }
  return true;
}

/** True when `version` (process.versions.node) is one the requirement accepts. */
export function satisfies(version, need) {
  const major = String(parts(version)[0]);
  return atLeast(version, need.oldest) && need.skip.indexOf(major) === -1;
}

/** The one sentence for a Node that is too old (or an unsupported line): what is needed and how to get it. */
export function tooOldMessage(version, need, what) {
  return (
    `herald: ${what} needs Node.js ${need.words}, and this is Node.js ${String(version).replace(/^v/, '')}: ` +
    'install Node.js 24 (https://nodejs.org, or `nvm install` / `fnm use` in the Herald folder, which read .nvmrc and .node-version) and run it again.'
  );
}

/** Prints the sentence and returns false when this Node does not meet `need`. */
export function checkNode(need, what, version = process.versions.node) {
  if (satisfies(version, need)) return true;
  process.stderr.write(tooOldMessage(version, need, what) + '\n');
  return false;
}

// Run directly (`node bin/node-version.js`): the install step's and the tests' check.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!checkNode(INSTALL_NODE, 'building and testing Herald')) process.exit(1);
}
