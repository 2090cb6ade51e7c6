// Latency bookkeeping for the benchmarks: a log-linear histogram (fixed memory, ~0.2% precision)
// so that millions of deliveries at 5k subscribers cost a few kilobytes, not a sorted array each.

const EXACT_US = 1024; // below this many microseconds every value has its own bucket
const SUB_BUCKETS = 512; // buckets per power of two above it
const MAX_EXPONENT = 28; // values up to ~2^37 µs (about 38 hours) are kept; larger ones clamp

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  min: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export class LatencyHistogram {
  readonly counts = new Float64Array(EXACT_US + MAX_EXPONENT * SUB_BUCKETS);
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  /** Records one latency in milliseconds (negative values, from clock noise, count as 0). */
  record(ms: number, times = 1): void {
    const v = ms > 0 ? ms : 0;
    this.counts[bucketOf(Math.round(v * 1000))]! += times;
    this.count += times;
    this.sum += v * times;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /** The value (ms) below or at which `q` (0..1) of the recorded values lie. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, valueOf(i) / 1000));
    }
    return this.max;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      min: this.count ? this.min : NaN,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.count ? this.max : NaN,
      mean: this.count ? this.sum / this.count : NaN,
    };
  }
}

function bucketOf(us: number): number {
  if (us < EXACT_US) return us;
  const exponent = Math.min(MAX_EXPONENT, Math.floor(Math.log2(us)) - 9); // 1 at 1024 µs
  const sub = Math.min(SUB_BUCKETS * 2 - 1, Math.floor(us / 2 ** exponent)); // 512..1023
  return EXACT_US + (exponent - 1) * SUB_BUCKETS + (sub - SUB_BUCKETS);
}

/** The middle of a bucket, in microseconds. */
function valueOf(bucket: number): number {
  if (bucket < EXACT_US) return bucket;
  const exponent = Math.floor((bucket - EXACT_US) / SUB_BUCKETS) + 1;
  const sub = ((bucket - EXACT_US) % SUB_BUCKETS) + SUB_BUCKETS;
  return (sub + 0.5) * 2 ** exponent;
}

/**
 * Enough samples for quantile q: at least MIN_TAIL_SAMPLES of them lie beyond it. A p99 needs
 * 1,000 samples, a p99.9 10,000; with fewer, the "p99" of 40 events is their maximum, and is said so.
 */
export const MIN_TAIL_SAMPLES = 10;
export function backs(count: number, q: number): boolean {
  return count * (1 - q) >= MIN_TAIL_SAMPLES - 1e-9;
}

/** The noise assumed for a figure from one repetition (there is no spread to read it from). */
export const SINGLE_RUN_NOISE = 0.1;

export type Verdict = 'met' | 'within noise' | 'missed' | 'not measured';

export interface Judgement {
  verdict: Verdict;
  /** The median over repetitions (or paired rounds). */
  value: number;
  /** The spread the verdict used: quartiles from 5 values on, else the range; ±10% of one value. */
  low: number;
  high: number;
  count: number;
}

/**
 * Counts a goal honestly from the figure of each repetition (or each paired round): met only when
 * its whole spread meets the limit, missed only when its whole spread misses it, "within noise"
 * when the spread straddles it (a median on the right side of the limit is not enough).
 */
export function judge(values: readonly number[], limit: number, better: 'lower' | 'higher'): Judgement {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { verdict: 'not measured', value: NaN, low: NaN, high: NaN, count: 0 };
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.round(q * (v.length - 1))))]!;
  const value = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  let low: number;
  let high: number;
  if (v.length === 1) [low, high] = [value * (1 - SINGLE_RUN_NOISE), value * (1 + SINGLE_RUN_NOISE)];
  else if (v.length < 5) [low, high] = [v[0]!, v.at(-1)!];
  else [low, high] = [at(0.25), at(0.75)];
  const worst = better === 'lower' ? high : low;
  const best = better === 'lower' ? low : high;
  const meets = (x: number) => (better === 'lower' ? x <= limit : x >= limit);
  const verdict: Verdict = meets(worst) ? 'met' : meets(best) ? 'within noise' : 'missed';
  return { verdict, value, low, high, count: v.length };
}

/** The median of the finite values (NaN when there are none). */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** A shuffled copy (Fisher–Yates): the order servers or commands run in, new each repetition. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
