// @doyensec/electronegativity over the Electron code (main/ sources, and the built dist/ when it
// exists): every finding must be in electronegativity-allowlist.json with a reason. The tool exits
// 0 with findings and writes its CSV racily, so this reads its SARIF report, never its exit code.
// It runs offline: electronegativity-offline.cjs keeps it from fetching anything.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './platform-double.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = path.join(root, 'node_modules', '@doyensec', 'electronegativity', 'dist', 'index.js');
const offline = path.join(root, 'test', 'main', 'electronegativity-offline.cjs');
const electronVersion = (JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version;

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
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function scan(input: string): Promise<Finding[]> {
  const report = path.join(work, `${path.basename(input)}-${Date.now()}.sarif`);
  // Checks that need the network are excluded; the exit code says nothing either way.
  await promisify(execFile)(process.execPath, ['--require', offline, cli, '-i', input, '-o', report, '-x', 'AvailableSecurityFixesGlobalCheck', '-e', electronVersion, '-r'], {
    cwd: root,
    timeout: 120_000,
  }).catch((err: unknown) => err);
  expect(fs.existsSync(report), `electronegativity wrote no report for ${input}`).toBe(true);
  const sarif = JSON.parse(fs.readFileSync(report, 'utf8')) as {
    runs: { results: { ruleId: string; message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }[] }[];
  };
  return sarif.runs[0]!.results.map((r) => {
    const loc = r.locations[0]!.physicalLocation;
    const uri = loc.artifactLocation.uri;
    const file = uri === 'file:///' ? 'N/A' : path.relative(root, path.resolve(input, uri));
    const lines = file === 'N/A' ? [] : fs.readFileSync(path.join(root, file), 'utf8').split('\n');
    return { rule: r.ruleId, file, line: loc.region.startLine, message: r.message.text, text: lines.slice(loc.region.startLine - 1, loc.region.startLine + 3).join('\n') };
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

  it('finds what it should in a deliberately insecure window (the scan is not blind)', async () => {
    const fixture = path.join(work, 'insecure');
    fs.mkdirSync(fixture);
    fs.writeFileSync(
      path.join(fixture, 'main.ts'),
      "import { BrowserWindow } from 'electron';\nconst w: BrowserWindow = new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false, webSecurity: false } });\nw.loadURL('http://example.test');\n",
    );
    const rules = new Set((await scan(fixture)).map((f) => f.rule));
    // The same rules must stay silent on main/ (they are not in the allow-list).
    for (const rule of ['CONTEXT_ISOLATION_JS_CHECK', 'SANDBOX_JS_CHECK', 'WEB_SECURITY_JS_CHECK', 'AUXCLICK_JS_CHECK', 'HTTP_RESOURCES_JS_CHECK', 'LIMIT_NAVIGATION_GLOBAL_CHECK', 'PERMISSION_REQUEST_HANDLER_GLOBAL_CHECK', 'CSP_GLOBAL_CHECK']) {
      expect(rules, rule).toContain(rule);
    }
  });

  it('leaves no finding unexplained in main/', async () => {
    const findings = await scan(path.join(root, 'main'));
    // The scan saw the app: the one openExternal call site is reported (and explained).
    expect(findings.some((f) => f.rule === 'OPEN_EXTERNAL_JS_CHECK' && f.file === 'main/app.ts')).toBe(true);
    expect(unexplained(findings)).toEqual([]);
  });

  it.skipIf(!fs.existsSync(path.join(root, 'dist', 'main', 'app.js')))('leaves no finding unexplained in the built app (dist/)', async () => {
    const findings = await scan(path.join(root, 'dist'));
    expect(findings.some((f) => f.file === 'dist/main/app.js')).toBe(true);
    expect(unexplained(findings)).toEqual([]);
  });
});
