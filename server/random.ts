// Random bytes without node:crypto where the kernel has a generator to read: node:crypto is ~40
// modules, ~9-12 ms of a start (bench/cli.ts, bench/startup.ts), and `herald send`, `herald run`
// and a server creating its log need only a few random bytes. Node.

/** `size` random bytes from the kernel's generator (/dev/urandom), else from node:crypto (Windows). */
export function randomBytes(size: number): Buffer {
  return kernelRandomBytes(size) ?? process.getBuiltinModule('node:crypto').randomBytes(size);
}

/** A random (version 4) UUID, as crypto.randomUUID() makes: 122 random bits (randomBytes). */
export function randomUuid(): string {
  const bytes = randomBytes(16);
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
