// Launch at login: the XDG autostart entry on Linux (real files in a temp dir), Electron's login
// item (a recorded call) on macOS and Windows.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { autostartEntry, autostartPath, quoteExecArg, setLaunchAtLogin, type LoginItemOptions } from '../../main/login-item.ts';
import { tempDir } from './platform-double.ts';

let configHome: string;
let calls: unknown[];
beforeEach(() => {
  configHome = tempDir('herald-xdg-');
  calls = [];
});
afterEach(() => {
  fs.rmSync(configHome, { recursive: true, force: true });
});

const options = (platform: NodeJS.Platform, exec = '/home/ana/Apps/Herald-0.1.0.AppImage', args: string[] = []): LoginItemOptions => ({
  platform,
  exec,
  args,
  configHome,
  setLoginItemSettings: (s) => calls.push(s),
});

describe('launch at login on Linux', () => {
  it('writes an XDG autostart entry, and removes it', () => {
    const file = setLaunchAtLogin(true, options('linux'));
    expect(file).toBe(path.join(configHome, 'autostart', 'dev.herald.app.desktop'));
    const text = fs.readFileSync(file, 'utf8');
    expect(text.split('\n')).toEqual(
      expect.arrayContaining([
        '[Desktop Entry]',
        'Type=Application',
        'Name=Herald',
        'Exec=/home/ana/Apps/Herald-0.1.0.AppImage',
        'X-GNOME-Autostart-enabled=true',
        'Icon=herald-desktop',
      ]),
    );
    expect(fs.readdirSync(path.dirname(file))).toEqual(['dev.herald.app.desktop']); // no temp file left
    setLaunchAtLogin(false, options('linux'));
    expect(fs.existsSync(file)).toBe(false);
    setLaunchAtLogin(false, options('linux')); // off twice is fine
    expect(calls).toEqual([]);
  });

  it('quotes paths with spaces and escapes what the Exec key reserves', () => {
    setLaunchAtLogin(true, options('linux', '/opt/My Apps/herald', ['/src/my "app"', '100%']));
    const exec = fs
      .readFileSync(autostartPath(configHome), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Exec='));
    expect(exec).toBe('Exec="/opt/My Apps/herald" "/src/my \\"app\\"" 100%%');
    expect(quoteExecArg('$HOME')).toBe('"\\$HOME"');
    expect(autostartEntry('/usr/bin/herald')).toContain('Exec=/usr/bin/herald\n');
  });
});

describe('launch at login on macOS and Windows', () => {
  it.each(['darwin', 'win32'] as const)('uses the system login items on %s', (platform) => {
    setLaunchAtLogin(true, options(platform));
    setLaunchAtLogin(false, options(platform));
    expect(calls).toEqual([
      { openAtLogin: true, openAsHidden: true },
      { openAtLogin: false, openAsHidden: true },
    ]);
    expect(fs.existsSync(path.join(configHome, 'autostart'))).toBe(false);
  });
});
