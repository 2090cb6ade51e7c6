// Notices when the network comes back or changes (Wi-Fi switched, VPN up, cable in), so the feed
// reconnects at once instead of waiting out its backoff or its heartbeat timeout. Electron has no
// "network changed" event in the main process, so this polls a cheap snapshot. No Electron import:
// the snapshot is passed in (net.isOnline() and the interface addresses in the app).

import os from 'node:os';

export interface NetworkSnapshot {
  online: boolean;
  /** Changes when an interface gets or loses an address. */
  addresses: string;
}

/** The non-internal interface addresses, sorted: a fingerprint of "which network am I on". */
export function addressFingerprint(interfaces = os.networkInterfaces()): string {
  const out: string[] = [];
  for (const [name, list] of Object.entries(interfaces)) {
    for (const a of list ?? []) if (!a.internal) out.push(`${name}/${a.address}`);
  }
  return out.sort().join(',');
}

export interface NetworkWatchOptions {
  snapshot(): NetworkSnapshot;
  /** Called when the machine comes online, or is online on a different network than before. */
  onChange(): void;
  /** Default 5000. */
  intervalMs?: number;
  setInterval?: (fn: () => void, ms: number) => unknown;
  clearInterval?: (timer: unknown) => void;
}

export class NetworkWatch {
  readonly #options: NetworkWatchOptions;
  #last: NetworkSnapshot | null = null;
  #timer: unknown = null;

  constructor(options: NetworkWatchOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#last = this.#options.snapshot();
    const every = this.#options.setInterval ?? ((fn, ms) => setInterval(fn, ms).unref());
    this.#timer = every(() => this.check(), this.#options.intervalMs ?? 5000);
  }

  stop(): void {
    if (this.#timer === null) return;
    (this.#options.clearInterval ?? ((t) => clearInterval(t as NodeJS.Timeout)))(this.#timer);
    this.#timer = null;
  }

  /** Compares with the last snapshot; public so a platform event can trigger it too. */
  check(): void {
    const now = this.#options.snapshot();
    const before = this.#last;
    this.#last = now;
    if (!before || !now.online) return;
    if (!before.online || before.addresses !== now.addresses) this.#options.onChange();
  }
}
