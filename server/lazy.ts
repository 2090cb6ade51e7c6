// Node modules the server takes the first time it uses them rather than at start. node:crypto is
// ~40 modules, ~9 ms of every `herald serve` start (bench/startup.ts), and the server hashes only
// for a token, an idempotency key or a webhook's signature. cli/build-plugins.ts does the same for
// the packages bundled with it. Node.

/** node:crypto, loaded on the first call (Node keeps it from then on). */
export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}
