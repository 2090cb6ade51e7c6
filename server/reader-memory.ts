// ReaderMemory: one server-wide bound on the bytes held for readers that do not read fast
// enough (event streams and /history answers alike), cutting the slowest first. Node (streams).
//
// Each stream already has its own bound (the hub's maxBacklogBytes), but that alone let 300
// subscribers resuming from 0 and never reading hold +674 MB between them. Here every write to a
// reader is followed by wrote(reader): the bytes Node holds for it (its socket's writableLength)
// are added up, and when the total passes maxBytes, the readers holding the most are cut (their
// sockets destroyed, which frees what they held) until it is back under. A cut subscriber comes
// back with its Last-Event-ID and loses nothing: the log has every event.
//
// The total is kept from what each reader held when last seen: a reader that drains is seen
// again on its next write or its 'drain' event; before cutting anyone, every reader is looked at
// again, so no one is cut for bytes already sent.
import type { Writable } from 'node:stream';

/** A reader the server writes to. */
export interface HeldReader {
  /** Where its bytes go: `writableLength` is what Node holds for it. */
  readonly out: Writable;
  /** Drops it (its socket), and with it what it held. `heldBytes` is what it held then. */
  cut(heldBytes: number): void;
}

/** Default bound, all readers together: 64 MiB (sixteen subscribers stopped at the 4 MiB per-stream bound). */
export const DEFAULT_MAX_READER_BYTES = 64 * 1024 * 1024;

export class ReaderMemory {
  readonly maxBytes: number;
  /** Readers holding bytes, with what they held when last seen. */
  readonly #held = new Map<HeldReader, number>();
  /** Readers with a 'drain' listener from us (one each). */
  readonly #watching = new WeakSet<HeldReader>();
  #total = 0;
  #peak = 0;
  #cuts = 0;

  constructor(maxBytes = DEFAULT_MAX_READER_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** To call after each write to a reader. Cuts the readers holding the most when the total passes maxBytes. */
  wrote(reader: HeldReader): void {
    this.#see(reader);
    if (this.#total > this.maxBytes) this.#shed();
    if (this.#total > this.#peak) this.#peak = this.#total;
  }

  /** The reader is gone: what it held no longer counts. */
  forget(reader: HeldReader): void {
    const before = this.#held.get(reader);
    if (before === undefined) return;
    this.#total -= before;
    this.#held.delete(reader);
  }

  /** Bytes held for readers now (as last seen), the most ever after shedding, and readers cut for memory. */
  stats(): { readerBytes: number; readerBytesPeak: number; cutForMemory: number } {
    return { readerBytes: this.#total, readerBytesPeak: this.#peak, cutForMemory: this.#cuts };
  }

  #see(reader: HeldReader): void {
    const now = reader.out.destroyed ? 0 : reader.out.writableLength;
    const before = this.#held.get(reader) ?? 0;
    if (now === before) return;
    this.#total += now - before;
    if (now === 0) {
      this.#held.delete(reader);
      return;
    }
    this.#held.set(reader, now);
    if (!this.#watching.has(reader)) {
      this.#watching.add(reader);
      reader.out.once('drain', () => {
        this.#watching.delete(reader);
        if (this.#held.has(reader)) this.#see(reader);
      });
    }
  }

  /** Looks at every holder again, then cuts the ones holding the most until the total fits. */
  #shed(): void {
    for (const reader of [...this.#held.keys()]) this.#see(reader);
    if (this.#total <= this.maxBytes) return;
    const largestFirst = [...this.#held].sort((a, b) => b[1] - a[1]);
    for (const [reader, bytes] of largestFirst) {
      if (this.#total <= this.maxBytes) break;
      this.forget(reader);
      this.#cuts += 1;
      reader.cut(bytes);
    }
  }
}
