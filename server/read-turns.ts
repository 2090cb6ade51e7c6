// ReadTurns: the work readers make the server do (replay pages, /history pages) runs in short
// turns of the event loop, so that readers cannot hold publishers up. Node (setImmediate).
//
// Why: a replay to a reader whose socket takes everything (the kernel buffers megabytes on
// loopback, and a fast reader empties them) never waits for 'drain', and `await` on a settled
// promise does not let the event loop read sockets; 120 replays of a 4 KB-event log and a few
// 4 MB /history pages held the loop for most of a second, and a publish's acknowledgement waited
// behind them (p99 0.65-0.79 s). Each piece of work is queued here instead; a turn runs queued
// pieces, oldest first, until turnBudgetMs has passed, then lets the loop go round (timers, I/O:
// publishes are read, committed and answered) before the next turn. A piece queued while a turn
// runs (the next page of the same replay) waits for the next turn, so replays take turns fairly.
//
// A piece is small (one page read, or one page framed and written).

export interface ReadTurnsOptions {
  /** Reader work per turn of the event loop before publishers get theirs, default DEFAULT_TURN_BUDGET_MS (0: one piece per turn). */
  turnBudgetMs?: number;
}

export const DEFAULT_TURN_BUDGET_MS = 4;

export class ReadTurns {
  readonly #budgetMs: number;
  #queue: Array<() => void> = [];
  #head = 0;
  #scheduled = false;
  #turns = 0;
  #pieces = 0;

  constructor(options: ReadTurnsOptions = {}) {
    this.#budgetMs = options.turnBudgetMs ?? DEFAULT_TURN_BUDGET_MS;
  }

  /**
   * Runs `work` in a coming turn; resolves with what it returns (rejects with what it throws). A
   * promise it returns is waited for outside the turn: only the synchronous part counts against
   * the budget (a SQLite read is all synchronous; a network store's read is mostly waiting).
   */
  run<T>(work: () => T | PromiseLike<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push(() => {
        try {
          resolve(work());
        } catch (error) {
          reject(error);
        }
      });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#turn);
      }
    });
  }

  /** Turns run and pieces of work done so far (tests, benchmarks). */
  stats(): { turns: number; pieces: number; waiting: number } {
    return { turns: this.#turns, pieces: this.#pieces, waiting: this.#queue.length - this.#head };
  }

  readonly #turn = (): void => {
    this.#scheduled = false;
    this.#turns += 1;
    const started = performance.now();
    // Only what was queued before this turn: a piece queued by one that runs now waits for the next.
    const end = this.#queue.length;
    while (this.#head < end) {
      const piece = this.#queue[this.#head]!;
      this.#queue[this.#head] = undefined as never;
      this.#head += 1;
      this.#pieces += 1;
      piece();
      if (performance.now() - started >= this.#budgetMs) break;
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#head < this.#queue.length && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#turn);
    }
  };
}
