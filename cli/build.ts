// `npm run build:cli`: the command line as JavaScript under dist/ (run by `npm run build`, so
// `npm ci` and `npm install` build it), and dist/cli/sources.json, the list of TypeScript files it
// was built from. bin/herald.js runs dist/cli/main.js while every one of those files is unchanged,
// and the sources themselves otherwise. Node.
//
// Why prebuilt: stripping the types of ~30 modules at every start cost `herald send` 130-150 ms of
// its ~260 ms (bench/cli.ts measures it against a raw node:net POST).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SOURCES_FILE, type SourcesManifest } from '../bin/prebuilt.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

process.stdout.write('build:cli: tsc -p tsconfig.cli.json\n');
const listed = execFileSync(
  process.execPath,
  [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.cli.json'), '--listEmittedFiles'],
  {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);

// Each emitted dist/<dir>/<name>.js was built from <dir>/<name>.ts.
const sources: SourcesManifest['sources'] = [];
for (const line of listed.split('\n')) {
  const emitted = /^TSFILE: (.*\.js)$/.exec(line.trim())?.[1];
  if (emitted === undefined) continue;
  const relative = path.relative(dist, path.resolve(root, emitted)).replace(/\.js$/, '.ts');
  const file = path.join(root, relative);
  const stat = fs.statSync(file);
  const sha256 = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  sources.push([relative.split(path.sep).join('/'), stat.size, stat.mtimeMs, sha256]);
}
if (!sources.some(([file]) => file === 'cli/main.ts')) throw new Error(`build:cli: tsc did not emit cli/main.js; it said:\n${listed}`);
sources.sort(([a], [b]) => (a < b ? -1 : 1));
const manifest: SourcesManifest = { sources };
fs.writeFileSync(path.join(root, SOURCES_FILE), `${JSON.stringify(manifest)}\n`);
process.stdout.write(`build:cli: ${sources.length} modules, ${SOURCES_FILE}\n`);
