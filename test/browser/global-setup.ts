// Builds the window UI into dist/renderer once before the browser tests, unless the build is
// newer than every source it comes from (renderer/, bridge/, events/, feed/state.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestMtime(entry: string): number {
  const stat = fs.statSync(entry, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of fs.readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, name)));
  return newest;
}

export default async function globalSetup(): Promise<void> {
  const built = path.join(repo, 'dist', 'renderer', 'index.html');
  const builtAt = fs.statSync(built, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sourcesAt = Math.max(...['renderer', 'bridge', 'events', 'feed/state.ts'].map((p) => newestMtime(path.join(repo, p))));
  if (builtAt > sourcesAt) return;
  const { build } = await import('vite');
  await build({ configFile: path.join(repo, 'renderer', 'vite.config.ts'), logLevel: 'warn' });
}
