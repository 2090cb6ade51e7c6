import { describe, expect, it } from 'vitest';
import { defaultDataDir } from '../../server/data-dir.ts';

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
    expect(defaultDataDir({ env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, platform: 'win32', home: 'C:\\Users\\u' })).toBe('C:\\Users\\u\\AppData\\Roaming\\herald');
  });
});
