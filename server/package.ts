// Herald's own package: its folder, its version and its built window UI, wherever it runs from
// (the repository, dist/ after a build, the desktop app's asar). Node. Used by the server and by
// `herald --version`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Herald's package folder: the nearest folder above this module with a package.json. That is the
 * repository when run from source (server/package.ts), and the app's root (the asar) when run from
 * the build (dist/server/package.js): the same answer from both depths.
 */
function packageRoot(): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(start, '..');
  }
}

/** The built window UI: `dist/renderer` in Herald's package folder. */
export function defaultWebRoot(): string {
  return path.join(packageRoot(), 'dist', 'renderer');
}

/** Herald's version from its package.json ("unknown" only when that cannot be read). */
export function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
