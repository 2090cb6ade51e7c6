// What an Idempotency-Key costs a publish: `node bench/idempotency.ts` (a few seconds;
// `--events=N`, default 5000, `--batch=N`, default 1).
//
// The EventLog alone, on a SQLite file in a temp dir (removed at the end), one transaction per
// batch as the publish queue makes them. Named baselines, all in this run:
// - plain: append() without keys (what every publish cost before keys existed);
// - keyed: appendBatch() with a new key per event (a CLI publish: one key row more per event);
// - repeat: appendBatch() of keys already stored (a retry or a redelivery: a lookup, no write of
//   an event).
// Prints events per second and the keyed/plain ratio, with the load average (a shared machine).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventInput } from '../events/event.ts';
import { EventLog, type AppendEntry } from '../server/log.ts';

const arg = (name: string, fallback: number) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench/idempotency: --${name} takes a positive whole number, got ${raw}\n`);
    process.exit(2);
  }
  return n;
};
const events = arg('events', 5000);
const batch = arg('batch', 1);

const input = (i: number): EventInput => ({
  type: 'job.completed',
  topic: 'ci',
  title: `✓ acme/api: tests (main) succeeded #${i}`,
  priority: 3,
  job: { id: `run-${i}`, status: 'succeeded', exitCode: 0, durationMs: 240_000 },
});

function run(name: string, fill: (log: EventLog) => void, step: (log: EventLog, from: number, to: number) => void): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `herald-bench-idem-${name}-`));
  const log = new EventLog({ dataDir: dir });
  try {
    fill(log);
    const t0 = performance.now();
    for (let i = 0; i < events; i += batch) step(log, i, Math.min(events, i + batch));
    const seconds = (performance.now() - t0) / 1000;
    return events / seconds;
  } finally {
    log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const keyed = (from: number, to: number): AppendEntry[] => {
  const entries: AppendEntry[] = [];
  for (let i = from; i < to; i++) entries.push({ input: input(i), claim: { key: `key-${i}`, bodyHash: `hash-${i}` } });
  return entries;
};

process.stdout.write(
  `bench/idempotency: ${events} events, ${batch} per transaction; load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${os.cpus().length} cores\n`,
);
const results: Array<[string, number]> = [];
results.push([
  'plain (baseline)',
  run(
    'plain',
    () => {},
    (log, from, to) => log.append(Array.from({ length: to - from }, (_, k) => input(from + k))),
  ),
]);
results.push([
  'keyed',
  run(
    'keyed',
    () => {},
    (log, from, to) => log.appendBatch(keyed(from, to)),
  ),
]);
results.push([
  'repeat',
  run(
    'repeat',
    (log) => {
      for (let i = 0; i < events; i += 500) log.appendBatch(keyed(i, Math.min(events, i + 500)));
    },
    (log, from, to) => log.appendBatch(keyed(from, to)),
  ),
]);
// The baseline again, last: on a shared machine the first and the last run bracket the noise.
results.push([
  'plain (again)',
  run(
    'plain2',
    () => {},
    (log, from, to) => log.append(Array.from({ length: to - from }, (_, k) => input(from + k))),
  ),
]);
for (const [name, perSecond] of results)
  process.stdout.write(`  ${name.padEnd(18)} ${Math.round(perSecond).toString().padStart(8)} events/s\n`);
const plain = (results[0]![1] + results[3]![1]) / 2;
process.stdout.write(
  `  keyed / plain (mean of both): ${(results[1]![1] / plain).toFixed(2)}; repeat / plain: ${(results[2]![1] / plain).toFixed(2)}\n`,
);
process.stdout.write(
  `  load average after: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
