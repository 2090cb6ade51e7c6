// electron-builder.yml, checked offline: electron-builder's own loader and schema validation (it
// cannot build here: it downloads Electron), the fuses and the packed files, and the icons it uses.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { DebugLogger } from 'builder-util';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../build/make-icons.ts';
import { AUTOSTART_FILE } from '../../main/login-item.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Width, height and RGBA pixels of a PNG written by build/make-icons.ts (8-bit RGBA, filter 0). */
function readPng(file: string): { width: number; height: number; pixels: Buffer } {
  const data = fs.readFileSync(file);
  expect(data.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset < data.length) {
    const length = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    const body = data.subarray(offset + 8, offset + 8 + length);
    expect(data.readUInt32BE(offset + 8 + length), `CRC of ${type} in ${file}`).toBe(
      zlib.crc32(data.subarray(offset + 4, offset + 8 + length)),
    );
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
    }
    if (type === 'IDAT') idat.push(body);
    offset += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe((width * 4 + 1) * height);
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) raw.copy(pixels, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1));
  return { width, height, pixels };
}

describe('electron-builder.yml', () => {
  it("passes electron-builder's own loading and schema validation", async () => {
    const config = await getConfig(root, path.join(root, 'electron-builder.yml'), null);
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    expect(config).toMatchObject({
      appId: 'dev.herald.app',
      productName: 'Herald',
      asar: true,
      linux: { target: ['AppImage', 'deb'], category: 'Utility', syncDesktopName: true, maintainer: expect.stringMatching(/^.+ <.+@.+>$/) },
      mac: { target: [{ target: 'dmg', arch: ['arm64', 'x64'] }] },
      win: { target: 'nsis' },
    });
    expect(config.asarUnpack).toEqual(['**/*.node']);
  });

  it('has what the deb target checks before it builds: a homepage, an author with an email, a desktop name', () => {
    // app-builder-lib's FpmTarget.computeFpmMetaInfoOptions refuses to build without them.
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      homepage?: string;
      author?: { email?: string };
      productName?: string;
      desktopName?: string;
    };
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.author?.email).toMatch(/@/);
    expect(pkg.productName).toBe('Herald');
    // One Linux identity: the app id (Wayland) / WM_CLASS, the .desktop file and the autostart entry.
    expect(pkg.desktopName).toBe(`${AUTOSTART_FILE}`);
  });

  it('sets the fuses and packs only the built app', async () => {
    const config = await getConfig(root, path.join(root, 'electron-builder.yml'), null);
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
    expect((config.files as { filter: string[] }[])[0]!.filter.slice(0, 3)).toEqual(['dist/**', '!dist/**/*.map', 'package.json']);
    // dist/cli is the command line's (npm run build:cli), not the app's.
    expect((config.files as { filter: string[] }[])[0]!.filter).toContain('!dist/cli{,/**}');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('dist/main/main.js'); // inside what is packed
  });

  it('has its icons: one 1024 px source for macOS and Windows, a size set for Linux', () => {
    expect(readPng(path.join(root, 'build', 'icon.png'))).toMatchObject({ width: 1024, height: 1024 });
    for (const size of [16, 32, 48, 64, 128, 256, 512]) {
      expect(readPng(path.join(root, 'build', 'icons', `${size}x${size}.png`))).toMatchObject({ width: size, height: size });
    }
    expect(fs.readFileSync(path.join(root, 'build', 'icon.svg'), 'utf8')).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/);
  });

  it('has a tray icon per state, at 1x and 2x, each one different; and a macOS template image per state, black and clear only', () => {
    const seen = new Set<string>();
    const templates = new Set<string>();
    for (const state of ['connected', 'reconnecting', 'offline', 'paused']) {
      const one = readPng(path.join(root, 'build', 'tray', `tray-${state}.png`));
      const two = readPng(path.join(root, 'build', 'tray', `tray-${state}@2x.png`));
      expect([one.width, one.height, two.width, two.height]).toEqual([16, 16, 32, 32]);
      seen.add(one.pixels.toString('base64'));
      const template = readPng(path.join(root, 'build', 'tray', `tray-${state}Template.png`));
      const template2 = readPng(path.join(root, 'build', 'tray', `tray-${state}Template@2x.png`));
      expect([template.width, template2.width]).toEqual([16, 32]);
      for (let i = 0; i < template2.pixels.length; i += 4) {
        // The menu bar tints it: colour is ignored, only the alpha draws; keep it black.
        if (template2.pixels[i + 3]! > 0)
          expect([template2.pixels[i], template2.pixels[i + 1], template2.pixels[i + 2]]).toEqual([0, 0, 0]);
      }
      templates.add(template2.pixels.toString('base64'));
    }
    expect(seen.size).toBe(4);
    // The states differ by shape there, not by colour.
    expect(templates.size).toBe(4);
  });

  it("make-icons' PNG writer round-trips pixels", () => {
    const pixels = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 10, 20, 30, 40]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-png-'));
    try {
      fs.writeFileSync(path.join(dir, 'x.png'), encodePng(pixels, 2, 2));
      expect(readPng(path.join(dir, 'x.png'))).toEqual({ width: 2, height: 2, pixels: Buffer.from(pixels) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
