// Launch at login. macOS and Windows: Electron's login item (passed in as `setLoginItemSettings`).
// Linux: an XDG autostart entry (~/.config/autostart/herald.desktop), which this module writes
// with plain Node, so it is tested without Electron.

import fs from 'node:fs';
import path from 'node:path';

/** The desktop id, as package.json's desktopName and the installed .desktop file (electron-builder.yml). */
export const AUTOSTART_FILE = 'dev.herald.app.desktop';
/** The icon name the deb and AppImage install (the executable's name, herald-desktop). */
export const ICON_NAME = 'herald-desktop';

export interface LoginItemOptions {
  platform: NodeJS.Platform;
  /** The command that starts the app: the AppImage path when run from one, else the executable. */
  exec: string;
  /** Extra arguments (e.g. the app path when run as `electron .` in development). */
  args?: string[];
  /** $XDG_CONFIG_HOME, default ~/.config. */
  configHome: string;
  /** Electron's app.setLoginItemSettings, used on macOS and Windows. */
  setLoginItemSettings(settings: { openAtLogin: boolean; openAsHidden?: boolean; args?: string[] }): void;
}

/** Quotes one argument for a desktop entry's Exec key (Desktop Entry spec, "The Exec key"). */
export function quoteExecArg(arg: string): string {
  if (!/[\s"'\\`$<>|&;*?#()~]/.test(arg) && arg !== '') return arg.replace(/%/g, '%%');
  return `"${arg.replace(/[\\"`$]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`;
}

export function autostartEntry(exec: string, args: string[] = []): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Herald',
    'Comment=Desktop notifications when your long-running jobs finish',
    `Exec=${[exec, ...args].map(quoteExecArg).join(' ')}`,
    `Icon=${ICON_NAME}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export function autostartPath(configHome: string): string {
  return path.join(configHome, 'autostart', AUTOSTART_FILE);
}

/** Turns launch at login on or off. Returns where it was recorded (for the log). */
export function setLaunchAtLogin(on: boolean, o: LoginItemOptions): string {
  if (o.platform === 'darwin' || o.platform === 'win32') {
    o.setLoginItemSettings({ openAtLogin: on, openAsHidden: true, ...(o.args?.length ? { args: o.args } : {}) });
    return 'the system login items';
  }
  const file = autostartPath(o.configHome);
  if (on) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, autostartEntry(o.exec, o.args), { mode: 0o644 });
    fs.renameSync(tmp, file);
  } else {
    fs.rmSync(file, { force: true });
  }
  return file;
}
