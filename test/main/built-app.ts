// vitest global setup: the built app (dist/) is newer than every source it is built from, or it
// is built now with `npm run build` (CI's npm ci has just built it: then this costs nothing).
// Tests read dist/ and never write it, so files running side by side see one build.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCES = [
  'main',
  'events',
  'feed',
  'bridge',
  'server',
  'cli',
  'renderer',
  'build/tray',
  'build/icons',
  'package.json',
  'tsconfig.app.json',
  'tsconfig.cli.json',
];
const OUTPUTS = ['dist/main/main.js', 'dist/preload/preload.cjs', 'dist/renderer/index.html', 'dist/server/serve.js', 'dist/cli/main.js'];

/** The newest modification time under `entry` (a file or a folder), 0 when it does not exist. */
export function newestMtime(entry: string): number {
  const stat = fs.statSync(entry, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of fs.readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, name)));
  return newest;
}

export default function builtApp(): void {
  const builtAt = Math.min(...OUTPUTS.map((p) => fs.statSync(path.join(root, p), { throwIfNoEntry: false })?.mtimeMs ?? 0));
  const sourcesAt = Math.max(...SOURCES.map((p) => newestMtime(path.join(root, p))));
  if (builtAt > sourcesAt) return;
  process.stdout.write('test setup: dist/ is older than its sources; npm run build\n');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}
