// Builds the window UI into dist/renderer once before the browser tests, unless the build is
// newer than every source it comes from (renderer/, bridge/, events/, the pure files of feed/).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestMtime } from '../main/built-app.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export default async function globalSetup(): Promise<void> {
  const built = path.join(repo, 'dist', 'renderer', 'index.html');
  const builtAt = fs.statSync(built, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sourcesAt = Math.max(...['renderer', 'bridge', 'events', 'feed'].map((p) => newestMtime(path.join(repo, p))));
  if (builtAt > sourcesAt) return;
  const { build } = await import('vite');
  await build({ configFile: path.join(repo, 'renderer', 'vite.config.ts'), logLevel: 'warn' });
}
