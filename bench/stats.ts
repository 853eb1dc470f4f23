/** A figure measured several times: the median with the range it came from. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Median, min and max of repeated measurements. */
export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number, runs: values };
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** `a / b` of two spreads' medians, with the range of the per-run ratios (runs paired in order). */
export function ratio(a: Spread, b: Spread): Spread {
  const n = Math.min(a.runs.length, b.runs.length);
  const per = Array.from({ length: n }, (_, i) => (a.runs[i] as number) / (b.runs[i] as number));
  return { ...spread(per), median: a.median / b.median };
}

/** Runs `work` with `concurrency` workers pulling indexes 0…count-1; resolves when all are done. */
export async function inFlight(count: number, concurrency: number, work: (index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
