// Is the command line's prebuilt JavaScript (dist/cli, `npm run build:cli`) built from the
// TypeScript sources as they are now? Plain JavaScript: bin/herald.js asks before anything else
// loads, so it must run without type stripping.
//
// The check costs well under a millisecond: a stat per source (about 30), against the size and
// modification time the build saw. A file whose time changed but whose size did not (a checkout,
// a copy that did not keep times, an npm tarball's fixed dates) is hashed and compared instead.

// process.getBuiltinModule, not `import … from 'node:fs'`: the ES module namespace of node:fs
// reads its lazy fs.promises getter, which loads readline and more (~8 ms of every start).
const { readFileSync, statSync } = process.getBuiltinModule('node:fs');
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Where the build lists its sources, relative to Herald's folder. */
export const SOURCES_FILE = 'dist/cli/sources.json';
/** The entry the build emits, relative to Herald's folder. */
export const PREBUILT_ENTRY = 'dist/cli/main.js';

/**
 * The file URL of dist/cli/main.js when every source it was built from is unchanged, else
 * undefined (not built, or a source edited, added to the build or removed since).
 * @param {string} [root] Herald's folder; default: the one holding this bin/ folder.
 * @returns {string | undefined}
 */
export function prebuiltEntry(root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(root, SOURCES_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(manifest?.sources) || manifest.sources.length === 0) return undefined;
  for (const [file, size, mtimeMs, sha256] of manifest.sources) {
    const source = path.join(root, file);
    const stat = statSync(source, { throwIfNoEntry: false });
    if (!stat || stat.size !== size) return undefined;
    if (stat.mtimeMs !== mtimeMs && sha256Of(source) !== sha256) return undefined;
  }
  const entry = path.join(root, PREBUILT_ENTRY);
  if (!statSync(entry, { throwIfNoEntry: false })) return undefined;
  return pathToFileURL(entry).href;
}

/** node:crypto is loaded only when a time changed: most starts never need it here. */
function sha256Of(file) {
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
