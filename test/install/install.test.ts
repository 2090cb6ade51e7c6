// Installing Herald on a user's machine: `npm ci` compiles nothing (no Python, no compiler, no
// Visual Studio needed: better-sqlite3 ships prebuilt N-API binaries), and a Node that is too old
// gets one sentence saying which Node to install, from the command line and from the install step.

import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI_NODE, INSTALL_NODE, satisfies, tooOldMessage } from '../../bin/node-version.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { gypfile?: boolean; hasInstallScript?: boolean; dev?: boolean }>;
};

/**
 * Packages npm would compile: a binding.gyp on disk and no install/preinstall script of their
 * own make npm add `node-gyp rebuild` (arborist's rebuild.js), unless the lockfile entry says
 * `gypfile: false`. npm ci reads the package from the lockfile entry, not from its package.json.
 */
function compiledByNpm(): string[] {
  const out: string[] = [];
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (!location.startsWith('node_modules/')) continue;
    const dir = path.join(root, location);
    if (!fs.existsSync(path.join(dir, 'binding.gyp'))) continue;
    const scripts =
      (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
    if (scripts.install || scripts.preinstall) continue;
    if (entry.gypfile !== false) out.push(location);
  }
  return out;
}

describe('npm ci', () => {
  it('compiles nothing: every package with a binding.gyp says gypfile: false in the lockfile', () => {
    // `npm install` rewrites the lockfile without unknown keys: if it dropped this, put it back
    // (the entry's "gypfile": false) — and package.json's allowScripts denial still holds for npm ≥ 11.
    expect(compiledByNpm(), 'lockfile entries that would run node-gyp: add "gypfile": false to each').toEqual([]);
    expect(lock.packages['node_modules/better-sqlite3']?.gypfile).toBe(false);
  });

  it("denies better-sqlite3's install script in package.json too (npm's allowScripts policy survives a lockfile rewrite)", () => {
    expect(pkg.allowScripts?.['better-sqlite3']).toBe(false);
  });

  it('left no node-gyp build behind, and better-sqlite3 loads its prebuilt binary for this platform', () => {
    const dir = path.join(root, 'node_modules', 'better-sqlite3');
    expect(fs.existsSync(path.join(dir, 'build')), `${dir}/build exists: npm compiled better-sqlite3 (run npm ci again)`).toBe(false);
    expect(fs.existsSync(path.join(dir, 'prebuilds', `${process.platform}-${process.arch}.node`))).toBe(true);
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => {
      prepare(sql: string): { get(): unknown };
      close(): void;
    };
    const db = new Database(':memory:');
    expect(db.prepare('select sqlite_version() as v').get()).toMatchObject({ v: expect.stringMatching(/^3\./) });
    db.close();
  });
});

describe('the Node version', () => {
  it('says in package.json engines, .nvmrc and .node-version what the install step checks', () => {
    expect(pkg.engines.node).toBe(INSTALL_NODE.range);
    for (const file of ['.nvmrc', '.node-version']) {
      const wanted = fs.readFileSync(path.join(root, file), 'utf8').trim();
      expect(satisfies(`${wanted}.0.0`, INSTALL_NODE), file).toBe(true);
    }
    // The install (prepare → build) and the tests check before anything else runs.
    expect(pkg.scripts.build).toMatch(/^node bin\/node-version\.js && /);
    expect(pkg.scripts.test).toMatch(/^node bin\/node-version\.js && /);
    expect(pkg.scripts.prepare).toBe('npm run build');
  });

  it('accepts 22.18+ and 24+ for the install, 22.12+ for the command line, and nothing older', () => {
    const install = ['22.18.0', '22.20.1', '24.0.0', '25.2.0', 'v24.11.0'].map((v) => satisfies(v, INSTALL_NODE));
    expect(install).toEqual([true, true, true, true, true]);
    expect(['20.19.0', '22.12.0', '22.17.9', '23.11.0', '18.0.0'].map((v) => satisfies(v, INSTALL_NODE))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(['22.12.0', '22.17.0', '23.1.0', '24.0.0'].map((v) => satisfies(v, CLI_NODE))).toEqual([true, true, true, true]);
    expect(['20.20.2', '22.11.0', '21.7.3'].map((v) => satisfies(v, CLI_NODE))).toEqual([false, false, false]);
    expect(tooOldMessage('20.1.0', INSTALL_NODE, 'building Herald')).toMatch(
      /^herald: building Herald needs Node\.js 22\.18 or later.*this is Node\.js 20\.1\.0: install Node\.js 24 .*\.nvmrc.*run it again\.$/,
    );
  });
});

/** An older Node on this machine (Debian's /usr/bin/node is 20 here), to run the real files with. */
function oldNode(): { bin: string; version: string } | null {
  for (const bin of ['/usr/bin/node', '/usr/local/bin/node']) {
    const r = spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (r.status === 0 && !satisfies(r.stdout.trim(), CLI_NODE)) return { bin, version: r.stdout.trim() };
  }
  return null;
}
const old = oldNode();

describe.skipIf(old === null)(`on a Node too old to run Herald (${old?.bin} ${old?.version})`, () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    promisify(execFile)(args[0]!, args.slice(1), { cwd: root, env, timeout: 60_000 }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );

  it('`herald` prints one sentence naming the Node it needs, and exits 1', async () => {
    const r = await run([old!.bin, path.join(root, 'bin', 'herald.js'), 'send', 'hello']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${tooOldMessage(old!.version, CLI_NODE, 'the herald command')}\n`);
  });

  it('the install step (npm ci → prepare → npm run build) stops at the same sentence before building anything', async () => {
    // npm runs the scripts with the first `node` on PATH: the old one.
    const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-old-node-'));
    try {
      fs.symlinkSync(old!.bin, path.join(binDir, 'node'));
      const r = await run(['npm', 'run', 'build', '--silent'], { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH}` });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(tooOldMessage(old!.version, INSTALL_NODE, 'building and testing Herald'));
      expect(r.stderr).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|at .*\(node:internal/);
    } finally {
      fs.rmSync(binDir, { recursive: true, force: true });
    }
  });
});
