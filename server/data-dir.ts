// Where Herald keeps its event log when no --data-dir is given.
import os from 'node:os';
import path from 'node:path';

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
