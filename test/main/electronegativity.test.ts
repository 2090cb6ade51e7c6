// @doyensec/electronegativity over the Electron code (main/ sources and the built dist/): every
// finding must be in electronegativity-allowlist.json with a reason. The tool exits 0 with
// findings and writes its CSV racily, so this reads its SARIF report, never its exit code. It runs
// offline: electronegativity-offline.cjs keeps it from fetching anything, and records every file
// the tool could not parse or check (it skips those silently): any such file fails the test.
// Its JavaScript parser predates class private fields (`#field`, used across main/): the built
// files are scanned as lowered by oxc (Vite's transformer) to ES2021, calls and options intact.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { transformWithOxc } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './platform-double.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = path.join(root, 'node_modules', '@doyensec', 'electronegativity', 'dist', 'index.js');
const offline = path.join(root, 'test', 'main', 'electronegativity-offline.cjs');
const electronVersion = (
  JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }
).version;

interface AllowEntry {
  rule: string;
  files: string[];
  contains: string;
  reason: string;
}
const allowlist = JSON.parse(fs.readFileSync(path.join(root, 'test', 'main', 'electronegativity-allowlist.json'), 'utf8')) as AllowEntry[];

interface Finding {
  rule: string;
  /** Relative to the repository root. */
  file: string;
  line: number;
  message: string;
  /** The source lines the finding points at (its line and the three after: a call spans lines). */
  text: string;
}

const work = tempDir('herald-electronegativity-');
/** One scan takes 5 to 15 s on a loaded two-core machine; a test runs up to two. */
const SCAN_TEST_TIMEOUT_MS = 120_000;
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A file the tool skipped: it could not parse or check it (so it reported nothing in it). */
interface Skipped {
  file: string;
  stage: 'parse' | 'check';
  message: string;
}

/**
 * Scans `input`; `shownAs` is where its files are reported from (the repository path of a lowered
 * copy). Returns the findings, and the files the tool could not read.
 */
async function scanWithSkips(input: string, shownAs = input): Promise<{ findings: Finding[]; skipped: Skipped[] }> {
  const stamp = `${path.basename(input)}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const report = path.join(work, `${stamp}.sarif`);
  const errors = path.join(work, `${stamp}.errors`);
  // Checks that need the network are excluded; the exit code says nothing either way.
  await promisify(execFile)(
    process.execPath,
    ['--require', offline, cli, '-i', input, '-o', report, '-x', 'AvailableSecurityFixesGlobalCheck', '-e', electronVersion, '-r'],
    {
      cwd: root,
      timeout: 120_000,
      env: { ...process.env, HERALD_ELECTRONEGATIVITY_ERRORS: errors },
    },
  ).catch((err: unknown) => err);
  expect(fs.existsSync(report), `electronegativity wrote no report for ${input}`).toBe(true);
  const skipped = fs.existsSync(errors)
    ? fs
        .readFileSync(errors, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Skipped)
        .map((s) => ({ ...s, file: path.relative(root, path.join(shownAs, path.relative(input, s.file))) }))
    : [];
  return { findings: readReport(report, input, shownAs), skipped };
}

/** Scans and fails on any file the tool skipped. */
async function scan(input: string, shownAs = input): Promise<Finding[]> {
  const { findings, skipped } = await scanWithSkips(input, shownAs);
  expect(
    skipped.map((s) => `${s.file} (${s.stage}): ${s.message}`),
    `electronegativity skipped files in ${path.relative(root, shownAs) || input}`,
  ).toEqual([]);
  return findings;
}

/** dist/ lowered to ES2021 in `to` (same relative paths and file names; other files copied). */
async function lowered(from: string, to: string): Promise<void> {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      fs.mkdirSync(target, { recursive: true });
      await lowered(source, target);
    } else if (/\.(c|m)?js$/.test(entry.name)) {
      const { code } = await transformWithOxc(fs.readFileSync(source, 'utf8'), entry.name, { target: 'es2021', sourcemap: false });
      fs.writeFileSync(target, code);
    } else if (!entry.name.endsWith('.map')) {
      fs.copyFileSync(source, target);
    }
  }
}

function readReport(report: string, input: string, shownAs: string): Finding[] {
  const sarif = JSON.parse(fs.readFileSync(report, 'utf8')) as {
    runs: {
      results: {
        ruleId: string;
        message: { text: string };
        locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
      }[];
    }[];
  };
  return sarif.runs[0]!.results.map((r) => {
    const loc = r.locations[0]!.physicalLocation;
    const uri = loc.artifactLocation.uri;
    const file = uri === 'file:///' ? 'N/A' : path.relative(root, path.resolve(shownAs, uri));
    // The text the finding points at, in the file that was scanned (the lowered copy for dist/).
    const lines = file === 'N/A' ? [] : fs.readFileSync(path.resolve(input, uri), 'utf8').split('\n');
    return {
      rule: r.ruleId,
      file,
      line: loc.region.startLine,
      message: r.message.text,
      text: lines.slice(loc.region.startLine - 1, loc.region.startLine + 3).join('\n'),
    };
  });
}

function unexplained(findings: Finding[]): string[] {
  return findings
    .filter((f) => !allowlist.some((a) => a.rule === f.rule && a.files.includes(f.file) && f.text.includes(a.contains)))
    .map((f) => `${f.rule} at ${f.file}:${f.line}: ${f.message} — ${f.text.split('\n')[0]!.trim()}`);
}

describe('electronegativity', () => {
  it('gives every allow-list entry a one-line reason', () => {
    for (const entry of allowlist) {
      expect(entry.reason.length, entry.rule).toBeGreaterThan(20);
      expect(entry.reason).not.toMatch(/\n/);
      expect(entry.files.length).toBeGreaterThan(0);
    }
  });

  it(
    'finds what it should in a deliberately insecure window (the scan is not blind)',
    async () => {
      const fixture = path.join(work, 'insecure');
      fs.mkdirSync(fixture);
      fs.writeFileSync(
        path.join(fixture, 'main.ts'),
        "import { BrowserWindow } from 'electron';\nconst w: BrowserWindow = new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false, webSecurity: false } });\nw.loadURL('http://example.test');\n",
      );
      const rules = new Set((await scan(fixture)).map((f) => f.rule));
      // The same rules must stay silent on main/ (they are not in the allow-list).
      for (const rule of [
        'CONTEXT_ISOLATION_JS_CHECK',
        'SANDBOX_JS_CHECK',
        'WEB_SECURITY_JS_CHECK',
        'AUXCLICK_JS_CHECK',
        'HTTP_RESOURCES_JS_CHECK',
        'LIMIT_NAVIGATION_GLOBAL_CHECK',
        'PERMISSION_REQUEST_HANDLER_GLOBAL_CHECK',
        'CSP_GLOBAL_CHECK',
      ]) {
        expect(rules, rule).toContain(rule);
      }
    },
    SCAN_TEST_TIMEOUT_MS,
  );

  it(
    'reports a file it cannot parse instead of passing it silently (a class with #private fields, unlowered)',
    async () => {
      const fixture = path.join(work, 'private-fields');
      fs.mkdirSync(fixture);
      fs.writeFileSync(
        path.join(fixture, 'window.js'),
        "import { BrowserWindow } from 'electron';\nexport class W {\n  #window = null;\n  open() { this.#window = new BrowserWindow({ webPreferences: { nodeIntegration: true } }); }\n}\n",
      );
      const { skipped } = await scanWithSkips(fixture);
      expect(skipped).toEqual([
        {
          file: path.relative(root, path.join(fixture, 'window.js')),
          stage: expect.any(String),
          message: expect.stringMatching(/ClassPrivateProperty|Unexpected|private/i),
        },
      ]);
      // Lowered to ES2021, the same file is read, and its finding reported.
      const low = path.join(work, 'private-fields-lowered');
      fs.mkdirSync(low);
      await lowered(fixture, low);
      expect((await scan(low)).map((f) => f.rule)).toContain('NODE_INTEGRATION_JS_CHECK');
    },
    SCAN_TEST_TIMEOUT_MS,
  );

  it(
    'leaves no finding unexplained in main/',
    async () => {
      const findings = await scan(path.join(root, 'main'));
      // The scan saw the app: the one openExternal call site is reported (and explained).
      expect(findings.some((f) => f.rule === 'OPEN_EXTERNAL_JS_CHECK' && f.file === 'main/main.ts')).toBe(true);
      expect(unexplained(findings)).toEqual([]);
    },
    SCAN_TEST_TIMEOUT_MS,
  );

  // dist/ is built before the tests (test/main/built-app.ts, vitest's global setup).
  it(
    'leaves no finding unexplained in the built app (dist/), and skips none of its files',
    async () => {
      const copy = path.join(work, 'dist-lowered', 'dist');
      fs.mkdirSync(copy, { recursive: true });
      await lowered(path.join(root, 'dist'), copy);
      const findings = await scan(copy, path.join(root, 'dist'));
      expect(findings.some((f) => f.file === 'dist/main/main.js')).toBe(true);
      // windows.js (the window's webPreferences) was among the files skipped before lowering.
      expect(findings.some((f) => f.file === 'dist/main/windows.js')).toBe(true);
      expect(unexplained(findings)).toEqual([]);
    },
    SCAN_TEST_TIMEOUT_MS,
  );
});
