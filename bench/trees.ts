// Herald trees for the targeted benchmarks: this one, or a baseline revision unpacked from git,
// each served by bench/tree-server.ts in a process of its own. Node.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchChild } from './child.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..');

/** This tree (`rev` undefined), or `git archive rev` unpacked into a temp dir with this tree's node_modules linked. */
export function treeOf(rev: string | undefined): { root: string; cleanup(): void } {
  if (rev === undefined) return { root: REPO, cleanup: () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `herald-baseline-${rev}-`));
  execSync(`git -C ${JSON.stringify(REPO)} archive ${rev} | tar -x -C ${JSON.stringify(dir)}`);
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  return { root: dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A server of the tree at `root` on `dataDir` (bench/tree-server.ts), with --expose-gc and any other node flags. */
export async function startTreeServer(root: string, dataDir: string, nodeFlags: string[] = []): Promise<{ child: BenchChild; url: URL }> {
  const child = await BenchChild.spawn({
    name: 'server',
    script: path.join(here, 'tree-server.ts'),
    args: [root, dataDir],
    nodeFlags: ['--expose-gc', ...nodeFlags],
    cwd: root,
  });
  return { child, url: new URL(String(child.ready.url)) };
}
