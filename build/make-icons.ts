// Herald's icons from one source: the shapes below. Writes the SVG (build/icon.svg, the
// reference image), the app icon PNGs electron-builder packs (build/icon.png, build/icons/NxN.png)
// and the tray icons, one per state (build/tray/tray-<state>.png and @2x). A tiny PNG writer in
// plain Node (zlib) rasterizes the same shapes, so no image tool or dependency is needed.
//
//   node build/make-icons.ts

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

type RGBA = [number, number, number, number];
/** A shape: coverage test in unit coordinates (0..1, y down). */
type Inside = (x: number, y: number) => boolean;
interface Layer {
  inside: Inside;
  color: RGBA;
}

const INDIGO: RGBA = [79, 70, 229, 255];
const GREY: RGBA = [107, 114, 128, 255];
const WHITE: RGBA = [255, 255, 255, 255];
const STATE_COLORS = {
  connected: [22, 163, 74, 255],
  reconnecting: [217, 119, 6, 255],
  offline: [220, 38, 38, 255],
} as const satisfies Record<string, RGBA>;

// ---- the shapes (unit square) --------------------------------------------------------------

const roundedSquare =
  (r: number): Inside =>
  (x, y) => {
    const dx = Math.max(r - x, 0, x - (1 - r));
    const dy = Math.max(r - y, 0, y - (1 - r));
    return dx * dx + dy * dy <= r * r;
  };
const circle =
  (cx: number, cy: number, r: number): Inside =>
  (x, y) =>
    (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const rect =
  (x0: number, y0: number, x1: number, y1: number): Inside =>
  (x, y) =>
    x >= x0 && x <= x1 && y >= y0 && y <= y1;
const union =
  (...shapes: Inside[]): Inside =>
  (x, y) =>
    shapes.some((s) => s(x, y));
/** Maps a shape into the box (x0, y0, size). */
const placed =
  (shape: Inside, x0: number, y0: number, size: number): Inside =>
  (x, y) =>
    shape((x - x0) / size, (y - y0) / size);

/** The bell: a dome, flaring sides, a rim and a clapper. */
const bell: Inside = union(
  circle(0.5, 0.42, 0.2),
  (x, y) => y >= 0.42 && y <= 0.7 && Math.abs(x - 0.5) <= 0.2 + (y - 0.42) * 0.35,
  rect(0.16, 0.68, 0.84, 0.745),
  circle(0.5, 0.8, 0.07),
  circle(0.5, 0.2, 0.05),
);

function appIcon(): Layer[] {
  return [
    { inside: roundedSquare(0.22), color: INDIGO },
    { inside: bell, color: WHITE },
  ];
}

export const TRAY_STATES = ['connected', 'reconnecting', 'offline', 'paused'] as const;
export type TrayIconState = (typeof TRAY_STATES)[number];

function trayIcon(state: TrayIconState): Layer[] {
  const badge = circle(0.44, 0.44, 0.42);
  const layers: Layer[] = [
    { inside: badge, color: state === 'paused' ? GREY : INDIGO },
    { inside: placed(bell, 0.08, 0.06, 0.72), color: WHITE },
  ];
  if (state === 'paused') {
    // Two bars, bottom right, on a white ring so they read on any panel colour.
    layers.push({ inside: circle(0.76, 0.76, 0.24), color: WHITE });
    layers.push({ inside: union(rect(0.66, 0.64, 0.72, 0.88), rect(0.8, 0.64, 0.86, 0.88)), color: GREY });
  } else {
    layers.push({ inside: circle(0.76, 0.76, 0.24), color: WHITE });
    layers.push({ inside: circle(0.76, 0.76, 0.17), color: STATE_COLORS[state] });
    // Offline also differs in shape, not only in colour: a bar across the dot.
    if (state === 'offline') layers.push({ inside: rect(0.67, 0.73, 0.85, 0.79), color: WHITE });
  }
  return layers;
}

const BLACK: RGBA = [0, 0, 0, 255];
const CLEAR: RGBA = [0, 0, 0, 0];

/**
 * The macOS menu bar's template image for a state: black and transparent only (the system tints
 * it), so each state has its own mark: a dot (connected), a ring (reconnecting), a struck-through
 * dot (offline), two bars (paused), cut out of the bell's corner.
 */
function trayTemplate(state: TrayIconState): Layer[] {
  const layers: Layer[] = [
    { inside: placed(bell, 0.02, 0.0, 0.8), color: BLACK },
    { inside: circle(0.76, 0.76, 0.25), color: CLEAR },
  ];
  const mark = circle(0.76, 0.76, 0.19);
  if (state === 'connected') layers.push({ inside: mark, color: BLACK });
  if (state === 'reconnecting') layers.push({ inside: mark, color: BLACK }, { inside: circle(0.76, 0.76, 0.11), color: CLEAR });
  if (state === 'offline') layers.push({ inside: mark, color: BLACK }, { inside: rect(0.62, 0.72, 0.9, 0.8), color: CLEAR });
  if (state === 'paused') layers.push({ inside: union(rect(0.64, 0.6, 0.71, 0.92), rect(0.81, 0.6, 0.88, 0.92)), color: BLACK });
  return layers;
}

// ---- rasterizer and PNG writer -------------------------------------------------------------

/** Renders layers at size×size with 4×4 supersampling (smooth edges), straight alpha. */
export function rasterize(layers: Layer[], size: number): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (px + (sx + 0.5) / n) / size;
          const y = (py + (sy + 0.5) / n) / size;
          let c: RGBA | null = null;
          for (const layer of layers) if (layer.inside(x, y)) c = layer.color;
          if (c && c[3] > 0) {
            const alpha = c[3] / 255;
            r += c[0] * alpha;
            g += c[1] * alpha;
            b += c[2] * alpha;
            a += alpha;
          }
        }
      }
      const i = (py * size + px) * 4;
      if (a > 0) {
        out[i] = Math.round(r / a);
        out[i + 1] = Math.round(g / a);
        out[i + 2] = Math.round(b / a);
        out[i + 3] = Math.round((a / (n * n)) * 255);
      }
    }
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit RGBA PNG (colour type 6), no interlace. */
export function encodePng(rgba: Uint8Array, width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array()),
  ]);
}

// ---- the SVG (the same shapes, for people and for stores that want vector art) ---------------

function svg(): string {
  const c = (rgba: RGBA) => `rgb(${rgba[0]},${rgba[1]},${rgba[2]})`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by build/make-icons.ts from the same shapes as the PNGs: edit the script, not this file. -->
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1" width="1024" height="1024">
  <rect x="0" y="0" width="1" height="1" rx="0.22" fill="${c(INDIGO)}"/>
  <g fill="${c(WHITE)}">
    <circle cx="0.5" cy="0.42" r="0.2"/>
    <polygon points="0.3,0.42 0.7,0.42 0.798,0.7 0.202,0.7"/>
    <rect x="0.16" y="0.68" width="0.68" height="0.065"/>
    <circle cx="0.5" cy="0.8" r="0.07"/>
    <circle cx="0.5" cy="0.2" r="0.05"/>
  </g>
</svg>
`;
}

// ---- main ----------------------------------------------------------------------------------

function write(file: string, data: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  write(path.join(here, 'icon.svg'), svg());
  write(path.join(here, 'icon.png'), encodePng(rasterize(appIcon(), 1024), 1024, 1024));
  for (const size of [16, 32, 48, 64, 128, 256, 512]) {
    write(path.join(here, 'icons', `${size}x${size}.png`), encodePng(rasterize(appIcon(), size), size, size));
  }
  for (const state of TRAY_STATES) {
    write(path.join(here, 'tray', `tray-${state}.png`), encodePng(rasterize(trayIcon(state), 16), 16, 16));
    write(path.join(here, 'tray', `tray-${state}@2x.png`), encodePng(rasterize(trayIcon(state), 32), 32, 32));
    write(path.join(here, 'tray', `tray-${state}Template.png`), encodePng(rasterize(trayTemplate(state), 16), 16, 16));
    write(path.join(here, 'tray', `tray-${state}Template@2x.png`), encodePng(rasterize(trayTemplate(state), 32), 32, 32));
  }
  process.stdout.write(`icons written under ${here}\n`);
}
