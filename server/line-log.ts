// LineLog: the server's log lines to stderr (or any file descriptor), written so that the output
// can never hold up serving. Node.
//
// Why not process.stderr: on Linux Node writes to a terminal and to a pipe synchronously, so a
// terminal stopped with Ctrl-S, or a pipe whose reader stopped reading, blocked the event loop at
// the next line (~750 lines later /health timed out). Here a line is only queued; the queue is
// written in one fs.write at a time, which runs on libuv's thread pool (a stuck write holds one
// pool thread, never the event loop). While a write is stuck, lines queue up to maxQueuedBytes;
// past that they are dropped and counted, and the count is written as soon as the output takes
// bytes again. Control characters from the network (paths, headers) are escaped on the way.
import fs from 'node:fs';
import { terminalText } from '../events/terminal.ts';

export interface LineLogOptions {
  /** Where the lines go, default 2 (stderr). */
  fd?: number;
  /** Bytes held while the output takes none, default DEFAULT_MAX_QUEUED_BYTES; lines past it are dropped and counted. */
  maxQueuedBytes?: number;
  /** Clock for the timestamps (tests). Default: the system clock. */
  now?: () => Date;
}

export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024;
/** How long to wait before trying again a descriptor that said "try again" (a non-blocking one that is full). */
const AGAIN_MS = 50;

export class LineLog {
  readonly #fd: number;
  readonly #maxQueuedBytes: number;
  readonly #now: () => Date;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #writing = false;
  /** Lines dropped since the last notice was written. */
  #droppedSinceNotice = 0;
  #droppedTotal = 0;
  /** Set when the descriptor is gone for good (EPIPE, EBADF): everything after is dropped quietly. */
  #broken = false;
  #idle: Array<() => void> = [];

  constructor(options: LineLogOptions = {}) {
    this.#fd = options.fd ?? 2;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.#now = options.now ?? (() => new Date());
  }

  /** Queues one line (a timestamp and "herald:" in front); never blocks, never throws. */
  readonly write = (line: string): void => {
    const bytes = Buffer.from(`${this.#now().toISOString()} herald: ${terminalText(line)}\n`);
    if (this.#broken || this.#queuedBytes + bytes.length > this.#maxQueuedBytes) {
      this.#droppedSinceNotice += 1;
      this.#droppedTotal += 1;
      return;
    }
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    this.#pump();
  };

  /** Lines dropped so far because the output was not taking them. */
  get dropped(): number {
    return this.#droppedTotal;
  }

  /** Resolves true once everything queued is written, false if that takes longer than timeoutMs (a stopped output). */
  flush(timeoutMs: number): Promise<boolean> {
    if (!this.#writing && this.#queue.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #pump(): void {
    if (this.#writing) return;
    if (this.#queue.length === 0 && this.#droppedSinceNotice === 0) {
      for (const done of this.#idle.splice(0)) done();
      return;
    }
    const parts = this.#queue;
    if (this.#droppedSinceNotice > 0) {
      const n = this.#droppedSinceNotice;
      parts.unshift(
        Buffer.from(
          `${this.#now().toISOString()} herald: ${n} log line${n === 1 ? '' : 's'} dropped: the log output (terminal or pipe) was not taking them\n`,
        ),
      );
      this.#droppedSinceNotice = 0;
    }
    const chunk = Buffer.concat(parts);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#writing = true;
    this.#writeOut(chunk);
  }

  #writeOut(chunk: Buffer): void {
    fs.write(this.#fd, chunk, 0, chunk.length, null, (error, written) => {
      if (error) {
        if (error.code === 'EAGAIN') {
          setTimeout(() => this.#writeOut(chunk), AGAIN_MS).unref();
          return;
        }
        // The output is gone (closed pipe, closed descriptor): stop trying, drop quietly.
        this.#broken = true;
        this.#queue = [];
        this.#queuedBytes = 0;
        this.#writing = false;
        for (const done of this.#idle.splice(0)) done();
        return;
      }
      if (written < chunk.length) {
        this.#writeOut(chunk.subarray(written));
        return;
      }
      this.#writing = false;
      this.#pump();
    });
  }
}
