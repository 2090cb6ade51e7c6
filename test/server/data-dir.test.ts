import { describe, expect, it } from 'vitest';
import { defaultDataDir, userDir } from '../../server/data-dir.ts';

describe('defaultDataDir', () => {
  it('prefers HERALD_DATA_DIR', () => {
    expect(defaultDataDir({ env: { HERALD_DATA_DIR: '/srv/herald' }, platform: 'linux', home: '/home/u' })).toBe('/srv/herald');
  });
  it('uses XDG_DATA_HOME, else ~/.local/share, on Linux', () => {
    expect(defaultDataDir({ env: { XDG_DATA_HOME: '/x/data' }, platform: 'linux', home: '/home/u' })).toBe('/x/data/herald');
    expect(defaultDataDir({ env: { XDG_DATA_HOME: 'relative' }, platform: 'linux', home: '/home/u' })).toBe('/home/u/.local/share/herald');
    expect(defaultDataDir({ env: {}, platform: 'linux', home: '/home/u' })).toBe('/home/u/.local/share/herald');
  });
  it('uses Application Support on macOS and %APPDATA% on Windows', () => {
    expect(defaultDataDir({ env: {}, platform: 'darwin', home: '/Users/u' })).toBe('/Users/u/Library/Application Support/herald');
    expect(defaultDataDir({ env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, platform: 'win32', home: 'C:\\Users\\u' })).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\herald',
    );
  });
});

describe('userDir', () => {
  it("puts herald listen's state in XDG_STATE_HOME, else ~/.local/state, on Linux", () => {
    expect(userDir('state', { env: { XDG_STATE_HOME: '/x/state' }, platform: 'linux', home: '/home/u' })).toBe('/x/state/herald');
    expect(userDir('state', { env: { XDG_STATE_HOME: 'relative', XDG_DATA_HOME: '/x/data' }, platform: 'linux', home: '/home/u' })).toBe(
      '/home/u/.local/state/herald',
    );
  });
  it('uses %LOCALAPPDATA% for state on Windows, and Application Support on macOS', () => {
    expect(userDir('state', { env: {}, platform: 'win32', home: 'C:\\Users\\u' })).toBe('C:\\Users\\u\\AppData\\Local\\herald');
    expect(userDir('state', { env: { LOCALAPPDATA: 'D:\\L' }, platform: 'win32', home: 'C:\\Users\\u' })).toBe('D:\\L\\herald');
    expect(userDir('state', { env: {}, platform: 'darwin', home: '/Users/u' })).toBe('/Users/u/Library/Application Support/herald');
  });
});
