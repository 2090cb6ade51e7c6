// The user's directories for Herald (data: the event log; state: `herald listen`'s cursors), and
// making sure the data directory is there and usable before the log opens (errors in words, not
// `EEXIST: mkdir`). Node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogOpenError } from './errors.ts';
import { describeError } from '../events/errors.ts';

export interface UserDirContext {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

/** Where each kind of user directory is on each platform: the XDG variable and its default (Linux),
 * the Windows variable and its default; macOS keeps both in ~/Library/Application Support. */
const USER_DIRS = {
  data: { xdg: 'XDG_DATA_HOME', xdgDefault: ['.local', 'share'], windows: 'APPDATA', windowsDefault: ['AppData', 'Roaming'] },
  state: { xdg: 'XDG_STATE_HOME', xdgDefault: ['.local', 'state'], windows: 'LOCALAPPDATA', windowsDefault: ['AppData', 'Local'] },
} as const;

/** The platform's per-user directory of that kind + "/herald": $XDG_DATA_HOME or $XDG_STATE_HOME
 * (default ~/.local/share, ~/.local/state) on Linux, %APPDATA% or %LOCALAPPDATA% on Windows,
 * ~/Library/Application Support on macOS. A relative XDG path is ignored, as the spec says. */
export function userDir(kind: keyof typeof USER_DIRS, context: UserDirContext = {}): string {
  const env = context.env ?? process.env;
  const platform = context.platform ?? process.platform;
  const home = context.home ?? os.homedir();
  const where = USER_DIRS[kind];
  if (platform === 'win32') return path.win32.join(env[where.windows] || path.win32.join(home, ...where.windowsDefault), 'herald');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'herald');
  const xdg = env[where.xdg];
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home, ...where.xdgDefault), 'herald');
}

/** HERALD_DATA_DIR, else the user's data directory (userDir('data')). */
export function defaultDataDir(context: UserDirContext = {}): string {
  const env = context.env ?? process.env;
  if (env.HERALD_DATA_DIR) return path.resolve(env.HERALD_DATA_DIR);
  return userDir('data', context);
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
      throw new LogOpenError(
        'data_dir',
        dir,
        `cannot create the data directory ${dir}: ${code === 'EROFS' ? 'the file system is read-only' : 'permission denied'}. Create it yourself, or ${fix}.`,
        error,
      );
    }
    throw new LogOpenError('data_dir', dir, `cannot create the data directory ${dir} (${describeError(error)}); ${fix}.`, error);
  }
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    throw new LogOpenError(
      'data_dir',
      dir,
      `cannot write in the data directory ${dir}: permission denied. Give this user write access, or ${fix}.`,
      error,
    );
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
