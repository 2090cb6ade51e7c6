#!/usr/bin/env node
// Herald's command line. It runs the TypeScript sources directly: Node strips the types itself
// (by default from 22.18 and 23.6; 22.12 to 22.17 need the flag, so we re-run with it).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (!process.features.typescript) {
  const result = spawnSync(
    process.execPath,
    ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(result.status ?? 1);
}
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
