// The design's arrows between folders (STYLE.md §1), held by reading every source file's imports.
// The allowed arrows are the table below: a change of design is one reviewed line here.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Folder = 'events' | 'bridge' | 'feed' | 'server' | 'cli' | 'main' | 'renderer';
const FOLDERS: readonly Folder[] = ['events', 'bridge', 'feed', 'server', 'cli', 'main', 'renderer'];

/** Which folders each folder's code may import. A folder always imports itself. */
const ARROWS: Record<Folder, readonly Folder[]> = {
  events: [],
  bridge: ['events'],
  feed: ['events'],
  server: ['events'],
  cli: ['events', 'feed', 'server'],
  main: ['events', 'bridge', 'feed'],
  // Only feed/'s pure files (no Node, no package): the window runs in a browser.
  renderer: ['events', 'bridge', 'feed'],
};

/** Single arrows outside the table, each with its reason. */
const EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  // The utility-process entry: the one file of the app that starts the server.
  ['main/local-server-process.ts -> server', 'the server process entry'],
]);

/** Folders whose code runs in a browser or everywhere: no Node module, no package. */
const NO_NODE: ReadonlySet<Folder> = new Set(['events', 'bridge', 'renderer']);

/** Build scripts and configs: they run at build time under Node and are not part of any layer. */
const BUILD_FILES: ReadonlySet<string> = new Set(['main/build.ts', 'cli/build.ts', 'cli/build-plugins.ts', 'renderer/vite.config.ts']);

/** main/'s thin shell: the only files that import `electron` at run time (STYLE.md §7). */
const SHELL: ReadonlySet<string> = new Set(['ipc', 'local-server', 'main', 'notifications', 'preload', 'security', 'tray', 'windows']);

interface Import {
  specifier: string;
  /** Erased at compile time (`import type`, or every name marked `type`). */
  typeOnly: boolean;
}

/** The imports and re-exports of a TypeScript source, static and dynamic. */
function importsOf(source: string): Import[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: Import[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gm;
  for (const m of code.matchAll(statement)) {
    const names = m[3]!;
    const braced = /^\{([\s\S]*)\}$/.exec(names.trim());
    const everyNameTyped =
      braced !== null &&
      braced[1]!
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '')
        .every((n) => n.startsWith('type '));
    found.push({ specifier: m[4]!, typeOnly: m[2] !== undefined || everyNameTyped });
  }
  for (const m of code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push({ specifier: m[1]!, typeOnly: false });
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ specifier: m[1]!, typeOnly: false });
  return found;
}

function sourceFiles(folder: Folder): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(repo, dir), { withFileTypes: true })) {
      const relative = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(relative);
      else if (/\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(relative);
    }
  };
  walk(folder);
  return files;
}

const FILES = FOLDERS.flatMap(sourceFiles);
const IMPORTS = new Map(FILES.map((file) => [file, importsOf(fs.readFileSync(path.join(repo, file), 'utf8'))]));

/** The repository path an import names, or undefined for a package or a Node module. */
function target(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
}

function folderOf(file: string): string {
  return file.split('/')[0]!;
}

/** A file with no Node module, no package, and only such files behind it. */
function isPure(file: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return true;
  seen.add(file);
  return (IMPORTS.get(file) ?? []).every(({ specifier, typeOnly }) => {
    const to = target(file, specifier);
    if (to === undefined) return typeOnly;
    return isPure(to, seen);
  });
}

describe('the import boundaries', () => {
  it('reads static, dynamic and type-only imports as TypeScript writes them', () => {
    const found = importsOf(
      [
        "import { app, type Session } from 'electron';",
        "import type { Tray } from 'electron';",
        'import {\n  type A,\n  type B,\n} from "../feed/client.ts";',
        "export { x } from './x.ts';",
        "// import { gone } from 'electron';",
        "const s = await import('../server/serve.ts');",
        "import './side-effect.ts';",
      ].join('\n'),
    );
    expect(found).toEqual([
      { specifier: 'electron', typeOnly: false },
      { specifier: 'electron', typeOnly: true },
      { specifier: '../feed/client.ts', typeOnly: true },
      { specifier: './x.ts', typeOnly: false },
      { specifier: './side-effect.ts', typeOnly: false },
      { specifier: '../server/serve.ts', typeOnly: false },
    ]);
  });

  it('finds the source files of every folder', () => {
    for (const folder of FOLDERS)
      expect(
        FILES.some((file) => folderOf(file) === folder),
        folder,
      ).toBe(true);
  });

  it('lets each folder import only the folders its row of the table names', () => {
    const wrong: string[] = [];
    for (const [file, imports] of IMPORTS) {
      if (BUILD_FILES.has(file)) continue;
      const from = folderOf(file) as Folder;
      for (const { specifier } of imports) {
        const to = target(file, specifier);
        if (to === undefined) continue;
        const toFolder = folderOf(to);
        if (toFolder === from || ARROWS[from].includes(toFolder as Folder)) continue;
        if (EXCEPTIONS.has(`${file} -> ${toFolder}`)) continue;
        wrong.push(`${file} -> ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps events/, bridge/ and renderer/ free of Node and of packages', () => {
    const wrong: string[] = [];
    for (const [file, imports] of IMPORTS) {
      if (BUILD_FILES.has(file) || !NO_NODE.has(folderOf(file) as Folder)) continue;
      for (const { specifier, typeOnly } of imports)
        if (target(file, specifier) === undefined && !typeOnly) wrong.push(`${file} -> ${specifier}`);
    }
    expect(wrong).toEqual([]);
  });

  it('lets the window import only the pure files of feed/', () => {
    const wrong: string[] = [];
    for (const [file, imports] of IMPORTS) {
      if (folderOf(file) !== 'renderer' || BUILD_FILES.has(file)) continue;
      for (const { specifier } of imports) {
        const to = target(file, specifier);
        if (to !== undefined && folderOf(to) === 'feed' && !isPure(to)) wrong.push(`${file} -> ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('only the shell of main/ imports electron at run time', () => {
    for (const file of FILES.filter((f) => folderOf(f) === 'main' && !BUILD_FILES.has(f))) {
      const electronAtRunTime = IMPORTS.get(file)!.some(({ specifier, typeOnly }) => specifier === 'electron' && !typeOnly);
      expect(electronAtRunTime, file).toBe(SHELL.has(path.basename(file, '.ts')));
    }
  });

  it('no folder but main/ imports electron at all', () => {
    const wrong = [...IMPORTS].filter(
      ([file, imports]) => folderOf(file) !== 'main' && imports.some(({ specifier }) => specifier === 'electron'),
    );
    expect(wrong.map(([file]) => file)).toEqual([]);
  });
});
