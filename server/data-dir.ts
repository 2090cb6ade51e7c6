// Where Herald keeps its event log when no --data-dir is given, and making sure the directory is
// there and usable before the log opens (errors in words, not `EEXIST: mkdir`). Node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogOpenError } from './errors.ts';
import { describeError } from '../events/errors.ts';

export interface DataDirContext {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

/** HERALD_DATA_DIR, else the platform's per-user data directory + "/herald":
 * XDG_DATA_HOME (default ~/.local/share) on Linux, %APPDATA% on Windows,
 * ~/Library/Application Support on macOS. */
export function defaultDataDir(context: DataDirContext = {}): string {
  const env = context.env ?? process.env;
  const platform = context.platform ?? process.platform;
  const home = context.home ?? os.homedir();
  if (env.HERALD_DATA_DIR) return path.resolve(env.HERALD_DATA_DIR);
  if (platform === 'win32') {
    return path.win32.join(env.APPDATA || path.win32.join(home, 'AppData', 'Roaming'), 'herald');
  }
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'herald');
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(home, '.local', 'share');
  return path.join(xdg, 'herald');
}

/** Creates the data directory if missing; throws LogOpenError ('data_dir') saying what is wrong with it in words. */
export function prepareDataDir(dir: string): void {
  const fix = 'pick another with --data-dir (or HERALD_DATA_DIR)';
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      // mkdir -p fails so when the directory, or one of its parents, is a file.
      const file = firstFileOnPath(dir) ?? dir;
      const what = file === dir ? 'the data directory is a file' : `the data directory's parent ${file} is a file`;
      throw new LogOpenError('data_dir', file, `${what}: ${dir}. Move the file away, or ${fix}.`, error);
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new LogOpenError('data_dir', dir, `cannot create the data directory ${dir}: ${code === 'EROFS' ? 'the file system is read-only' : 'permission denied'}. Create it yourself, or ${fix}.`, error);
    }
    throw new LogOpenError('data_dir', dir, `cannot create the data directory ${dir} (${describeError(error)}); ${fix}.`, error);
  }
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    throw new LogOpenError('data_dir', dir, `cannot write in the data directory ${dir}: permission denied. Give this user write access, or ${fix}.`, error);
  }
}

/** The first path on the way to `dir` (from the root) that exists and is not a directory. */
function firstFileOnPath(dir: string): string | undefined {
  const parts = path.resolve(dir).split(path.sep);
  for (let i = 1; i <= parts.length; i++) {
    const at = parts.slice(0, i).join(path.sep) || path.sep;
    try {
      if (!fs.statSync(at).isDirectory()) return at;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
