import { readFileSync } from 'node:fs';

/** A V8 `.cpuprofile` as `node --cpu-prof` writes it. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Prints where a CPU profile spent its time: self time by function and by file (package), and
 * inclusive time of the functions named on the command line.
 *
 * @example
 * npx tsx bench/summarize-profile.ts /tmp/prof/CPU.*.cpuprofile [top=25]
 */
function main() {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: summarize-profile.ts <file.cpuprofile> [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const short = (url: string) =>
    url
      .replace(/^file:\/\//, '')
      .replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, '$1')
      .replace(/.*\/(src|machines|bench)\//, '$1/');
  const fnSelf = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, t] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
    const fileKey = short(f.url) || f.functionName;
    fileSelf.set(fileKey, (fileSelf.get(fileKey) ?? 0) + t);
    // Inclusive time: count this sample once for every distinct project function on its stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || !/\/(src|machines|bench)\//.test(frame.url) || /node_modules/.test(frame.url)) continue;
      const k = `${frame.functionName || '(anonymous)'} ${short(frame.url)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + t);
    }
  }
  const print = (title: string, map: Map<string, number>) => {
    process.stdout.write(`\n${title}\n`);
    for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(
        `${((100 * t) / total).toFixed(1).padStart(6)}%  ${(t / 1000).toFixed(0).padStart(7)} ms  ${k}\n`,
      );
    }
  };
  process.stdout.write(`total sampled: ${(total / 1000).toFixed(0)} ms\n`);
  print('self time by file or package', fileSelf);
  print('self time by function', fnSelf);
  print('inclusive time of project functions', inclusive);
}

main();
