// ReadTurns runs reader work a few milliseconds at a time and lets the event loop go round in
// between; ReaderMemory bounds the bytes held for all readers together, cutting the largest first.
// Real Node streams and timers; no server.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ReadTurns } from '../../server/read-turns.ts';
import { ReaderMemory, type HeldReader } from '../../server/reader-memory.ts';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy, as reading and framing a page is
  }
}

describe('ReadTurns', () => {
  it('runs queued work a budget at a time, and a timer that falls due meanwhile runs between turns', async () => {
    const turns = new ReadTurns({ turnBudgetMs: 5 });
    const order: string[] = [];
    setTimeout(() => order.push('timer'), 1);
    const pieces = Array.from({ length: 40 }, (_, i) =>
      turns.run(() => {
        spin(2);
        order.push(`piece ${i}`);
        return i;
      }),
    );
    expect(await Promise.all(pieces)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const timerAt = order.indexOf('timer');
    // 80 ms of work in ~5 ms turns: the timer ran after the first turn, long before the last piece.
    expect(timerAt).toBeGreaterThan(0);
    expect(timerAt).toBeLessThanOrEqual(4);
    expect(turns.stats().turns).toBeGreaterThanOrEqual(10);
    expect(turns.stats().waiting).toBe(0);
  });

  it('takes turns fairly: work queued by a piece waits for the next turn, behind what was already queued', async () => {
    const turns = new ReadTurns({ turnBudgetMs: 1000 });
    const order: string[] = [];
    const replay = async (name: string, pages: number) => {
      for (let page = 0; page < pages; page++) await turns.run(() => order.push(`${name}${page}`));
    };
    await Promise.all([replay('a', 3), replay('b', 3), replay('c', 3)]);
    expect(order).toEqual(['a0', 'b0', 'c0', 'a1', 'b1', 'c1', 'a2', 'b2', 'c2']);
  });

  it('a piece that throws rejects its own promise, and the others go on', async () => {
    const turns = new ReadTurns();
    const results = await Promise.allSettled([
      turns.run(() => 1),
      turns.run(() => {
        throw new Error('bad page');
      }),
      turns.run(() => 3),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([1, 'bad page', 3]);
  });
});

/** A real Writable whose writes complete only when told: what a socket with a peer that stopped reading looks like. */
function stalledOut(): Writable & { release(): void } {
  const callbacks: Array<() => void> = [];
  const out = new Writable({
    highWaterMark: 16 * 1024,
    write(_chunk, _encoding, callback) {
      callbacks.push(callback);
    },
  }) as Writable & { release(): void };
  out.release = () => {
    for (const callback of callbacks.splice(0)) callback();
  };
  return out;
}

function reader(name: string, cuts: string[]): HeldReader & { out: ReturnType<typeof stalledOut> } {
  const out = stalledOut();
  return { out, cut: () => (cuts.push(name), out.destroy()) };
}

describe('ReaderMemory', () => {
  it('keeps the total under its bound by cutting the readers that hold the most, largest first', () => {
    const cuts: string[] = [];
    const memory = new ReaderMemory(100_000);
    const a = reader('a', cuts);
    const b = reader('b', cuts);
    const c = reader('c', cuts);
    const write = (r: typeof a, bytes: number) => {
      r.out.write(Buffer.alloc(bytes));
      memory.wrote(r);
    };
    write(a, 30_000);
    write(b, 50_000);
    write(c, 10_000);
    expect(memory.stats()).toMatchObject({ readerBytes: 90_000, cutForMemory: 0 });
    write(c, 25_000); // 115 000: b holds the most
    expect(cuts).toEqual(['b']);
    expect(memory.stats()).toMatchObject({ readerBytes: 65_000, cutForMemory: 1 });
    write(a, 40_000); // a 70 000 + c 35 000 = 105 000: a goes
    expect(cuts).toEqual(['b', 'a']);
    expect(memory.stats().readerBytes).toBe(35_000);
    expect(memory.stats().readerBytesPeak).toBeLessThanOrEqual(100_000);
  });

  it('does not cut anyone for bytes already sent: a reader that drained is counted again first', async () => {
    const cuts: string[] = [];
    const memory = new ReaderMemory(100_000);
    const slow = reader('slow', cuts);
    const fast = reader('fast', cuts);
    slow.out.write(Buffer.alloc(60_000));
    memory.wrote(slow);
    fast.out.write(Buffer.alloc(30_000));
    memory.wrote(fast);
    fast.out.release(); // the fast one's peer read it all
    await new Promise((r) => setImmediate(r));
    fast.out.write(Buffer.alloc(30_000));
    memory.wrote(fast); // 60 000 + 30 000 now: under the bound, nobody cut
    expect(cuts).toEqual([]);
    expect(memory.stats().readerBytes).toBe(90_000);
  });

  it('forgets a reader that is gone', () => {
    const memory = new ReaderMemory(100_000);
    const r = reader('r', []);
    r.out.write(Buffer.alloc(40_000));
    memory.wrote(r);
    memory.forget(r);
    expect(memory.stats().readerBytes).toBe(0);
  });
});
