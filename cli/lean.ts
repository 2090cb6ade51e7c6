// What `herald send` and `herald run` use instead of Node modules that cost their start-up more
// than the work itself: a monotonic clock without perf_hooks (the `performance` global loads it
// on first use, ~2.5 ms under load) and random UUIDs without node:crypto (~40 modules, ~12 ms
// under load; bench/cli.ts). Node.

/** Milliseconds on a monotonic clock (never jumps with the wall clock), like performance.now(). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * A random (version 4) UUID, as crypto.randomUUID() makes: 122 random bits from the kernel's
 * generator (/dev/urandom, where there is one, read with the fs module the CLI has loaded anyway),
 * else from node:crypto (Windows).
 */
export function randomUuid(): string {
  const bytes = kernelRandomBytes(16);
  if (bytes === undefined) return (process.getBuiltinModule('node:crypto') as typeof import('node:crypto')).randomUUID();
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function kernelRandomBytes(size: number): Buffer | undefined {
  if (process.platform === 'win32') return undefined;
  const { openSync, readSync, closeSync } = process.getBuiltinModule('node:fs');
  let fd: number | undefined;
  try {
    fd = openSync('/dev/urandom', 'r');
    const bytes = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, null);
      if (n <= 0) return undefined;
      got += n;
    }
    return bytes;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
