// `npm run build:cli`: the command line as JavaScript under dist/ (run by `npm run build`, so
// `npm ci` and `npm install` build it), and dist/cli/sources.json, the list of TypeScript files it
// was built from. bin/herald.js runs dist/cli/main.js while every one of those files is unchanged,
// and the sources themselves otherwise. Node.
//
// Why prebuilt: stripping the types of ~30 modules at every start cost `herald send` 130-150 ms of
// its ~260 ms (bench/cli.ts measures it against a raw node:net POST).
//
// `herald serve` (dist/cli/serve.js) is then bundled: see bundleServe, and cli/build-plugins.ts for
// what the bundle changes in the packages it holds.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown, type Plugin } from 'rolldown';
import { SOURCES_FILE, type SourcesManifest } from '../bin/prebuilt.js';
import { mimeTablesPrecomputed, onFirstUse } from './build-plugins.ts';

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

await bundleServe();

/**
 * Replaces tsc's dist/cli/serve.js with one file holding `herald serve` and everything it loads:
 * server/, Express and its ~100 CommonJS files. Node resolves, reads and links each module on its
 * own (a stat walk through node_modules, a package.json read, a wrap and a link per file), and
 * that was a good part of what `herald serve` spent before /health answered (issue #14's notes
 * have the figures; bench/startup.ts measures it). Nothing is made lazy: the server still loads
 * all of Express before it listens, so every route answers as soon as /health does.
 *
 * What stays out, as tsc emitted it: better-sqlite3 (a native addon, loaded from node_modules)
 * and what dist/cli/main.js loads itself (cli/options.ts, events/*.ts…), so that a class both use
 * (UsageError, CommandError, EventValidationError) is one class, not two copies that `instanceof`
 * tells apart (test/cli/start-up.test.ts checks what a running server loaded). The Redis store
 * keeps its own chunk (dist/cli/serve-redis-*.js), loaded only with --redis, as before, and
 * ioredis is loaded from node_modules by it.
 */
async function bundleServe(): Promise<void> {
  process.stdout.write('build:cli: rolldown cli/serve.ts → dist/cli/serve.js\n');
  const shared = await staticGraphOf(path.join(root, 'cli', 'main.ts'));
  const keepShared: Plugin = {
    name: 'herald-keep-shared',
    async resolveId(source, importer, options) {
      if (!importer || !source.startsWith('.')) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      if (!resolved || !shared.has(resolved.id)) return null;
      // The module dist/cli/main.js already loaded, by its path from dist/cli.
      const built = path.join(dist, path.relative(root, resolved.id)).replace(/\.ts$/, '.js');
      const fromCli = path.relative(path.join(dist, 'cli'), built).split(path.sep).join('/');
      return { id: fromCli.startsWith('../') ? fromCli : `./${fromCli}`, external: true };
    },
  };
  // server/ imports node:fs as an ES module, and the namespace of one reads node:fs's lazy
  // `promises` getter, which loads fs/promises and readline (~6 ms of every start, as in
  // bin/prebuilt.js): the default export alone is what those imports use.
  const fsWithoutPromises: Plugin = {
    name: 'herald-fs-without-promises',
    resolveId(source, importer, options) {
      if ((source !== 'node:fs' && source !== 'fs') || options.kind !== 'import-statement') return null;
      if (!importer || importer.includes(`${path.sep}node_modules${path.sep}`)) return null;
      return '\0herald-node-fs';
    },
    load: (id) => (id === '\0herald-node-fs' ? "export default process.getBuiltinModule('node:fs');\n" : null),
  };
  const bundle = await rolldown({
    input: path.join(root, 'cli', 'serve.ts'),
    cwd: root,
    platform: 'node',
    logLevel: 'warn',
    external: [/^better-sqlite3(\/|$)/, /^ioredis(\/|$)/],
    plugins: [keepShared, fsWithoutPromises, mimeTablesPrecomputed(root), onFirstUse(root)],
  });
  try {
    for (const old of fs.readdirSync(path.join(dist, 'cli'))) if (old.startsWith('serve-')) fs.rmSync(path.join(dist, 'cli', old));
    const { output } = await bundle.write({
      dir: path.join(dist, 'cli'),
      format: 'esm',
      entryFileNames: '[name].js',
      // Beside serve.js, so the paths of what stays external (./options.js, ../events/…) hold for them too.
      chunkFileNames: (chunk) => (chunk.isDynamicEntry ? 'serve-redis-[hash].js' : 'serve-shared-[hash].js'),
      sourcemap: true,
      // ASCII only (non-ASCII characters escaped, comments left out; the source map keeps the
      // sources): one non-ASCII character (Herald's messages have "…" and "→") makes V8 decode and
      // hold the whole ~1 MB file as a two-byte string, ~6 ms more of every start. No compress,
      // no mangle: the code is printed as it is, names and all.
      comments: { legal: true, annotation: false, jsdoc: false },
      minify: { compress: false, mangle: false, codegen: { removeWhitespace: false, asciiOnly: true } },
    });
    const modules = output.flatMap((o) => (o.type === 'chunk' ? o.moduleIds : []));
    if (!modules.some((id) => id.includes(`${path.sep}node_modules${path.sep}express${path.sep}`)))
      throw new Error('build:cli: the serve bundle holds no Express: did its import change?');
    process.stdout.write(
      `build:cli: dist/cli/serve.js holds ${modules.length} modules (${output.filter((o) => o.type === 'chunk').length} files with the Redis chunk)\n`,
    );
  } finally {
    await bundle.close();
  }
}

/** The modules `file` loads by static imports (dynamic imports not followed), resolved as the bundler resolves them. */
async function staticGraphOf(file: string): Promise<Set<string>> {
  const graph = await rolldown({
    input: file,
    cwd: root,
    platform: 'node',
    logLevel: 'silent',
    // Every module a static import reaches, used or not: Node loads them all.
    treeshake: false,
    plugins: [{ name: 'herald-static-only', resolveDynamicImport: () => ({ id: 'lazy', external: true }) }],
  });
  try {
    const { output } = await graph.generate({ format: 'esm' });
    return new Set(output.flatMap((o) => (o.type === 'chunk' ? o.moduleIds : [])).filter((id) => !id.startsWith('\0')));
  } finally {
    await graph.close();
  }
}
