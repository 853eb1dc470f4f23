import type { Spread } from './stats.js';
import type { StoreSummary } from './summarize.js';

function num(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

/** `median (min–max)`. */
export function fmt(s: Spread | null, suffix = ''): string {
  if (!s) return '–';
  return `${num(s.median)}${suffix} (${num(s.min)}–${num(s.max)})`;
}

/** The markdown tables of one store's summary, as docs/benchmarks.md quotes them. */
export function renderStore(s: StoreSummary): string {
  const lines: string[] = [];
  lines.push(`### ${s.store} (server ${s.serverVersion})`, '');
  lines.push(
    '| in flight | floor commits/s | lifeline lifecycles/s | lifeline records/s | lifeline appends/s | records/s ÷ floor (≥ 0.8) | Emmett appends/s | lifeline ÷ Emmett appends (≥ 1) |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const c of s.byConcurrency) {
    lines.push(
      `| ${c.concurrency} | ${fmt(c.floorCommitsPerSecond)} | ${fmt(c.lifecyclesPerSecond)} | ${fmt(c.recordsPerSecond)} | ${fmt(c.appendsPerSecond)} | **${fmt(c.recordsOverFloor, '×')}** | ${fmt(c.emmettAppendsPerSecond)} | **${fmt(c.appendsOverEmmett, '×')}** |`,
    );
  }
  lines.push(
    '',
    '| in flight | records / lifecycle | commits / lifecycle | xids / lifecycle | of which single statements | reads / lifecycle | statements / lifecycle | CONNECT p50 / p99 ms | DELETE p50 / p99 ms |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const c of s.byConcurrency) {
    lines.push(
      `| ${c.concurrency} | ${num(c.recordsPerLifecycle)} | ${num(c.writeCommitsPerLifecycle)} | ${num(c.xidsPerLifecycle)} | ${num(c.autocommitWritesPerLifecycle)} | ${num(c.readsPerLifecycle)} | ${num(c.statementsPerLifecycle)} | ${fmt(c.connectP50Ms)} / ${fmt(c.connectP99Ms)} | ${fmt(c.deleteP50Ms)} / ${fmt(c.deleteP99Ms)} |`,
    );
  }
  lines.push(
    '',
    '| replay and verify | records/s | ÷ 500,000 |',
    '|---|---|---|',
    `| \`replay\` one connection, ${num(s.replayRecords)} records, from the database | ${fmt(s.replayFromDatabase)} | ${s.replayFromDatabase ? `${num(s.replayFromDatabase.median / 500_000)}×` : '–'} |`,
    `| \`fold\` of the same records in memory | ${fmt(s.replayInMemory)} | **${s.replayInMemory ? `${num(s.replayInMemory.median / 500_000)}×` : '–'}** |`,
    `| \`verify()\` ${num(s.verifyConnections)} connections, ${num(s.verifyRecords)} records, from the database | ${fmt(s.verifyFromDatabase)} (${fmt(s.verifyFromDatabaseConnections)} connections/s) | ${s.verifyFromDatabase ? `${num(s.verifyFromDatabase.median / 500_000)}×` : '–'} |`,
    `| the same checks in memory (hash chain + fold + compare) | ${fmt(s.verifyInMemory)} | ${s.verifyInMemory ? `${num(s.verifyInMemory.median / 500_000)}×` : '–'} |`,
    `| \`fold\` alone over those records in memory | ${fmt(s.foldOnly)} | **${s.foldOnly ? `${num(s.foldOnly.median / 500_000)}×` : '–'}** |`,
  );
  const v = s.verifyAtScale;
  if (v) {
    const share = (n: number) => `${num(n / 500_000)}×`;
    lines.push(
      `| \`verify()\` ${num(v.connections)} connections, ${num(v.records)} records, from the database (once) | ${num(v.fromDatabaseRecordsPerSecond)} (${num(v.fromDatabaseConnectionsPerSecond)} connections/s) | ${share(v.fromDatabaseRecordsPerSecond)} |`,
      `| the same checks in memory (once) | ${num(v.inMemoryRecordsPerSecond)} | ${share(v.inMemoryRecordsPerSecond)} |`,
      `| \`fold\` alone over those records in memory (once) | ${num(v.foldOnlyRecordsPerSecond)} | **${share(v.foldOnlyRecordsPerSecond)}** |`,
    );
  }
  lines.push('', '| idle connections | RSS MB | heap used MB | external MB |', '|---|---|---|---|');
  for (const m of s.memory) {
    lines.push(`| ${num(m.idleConnections)} | ${num(m.rssMb)} | ${num(m.heapUsedMb)} | ${num(m.externalMb)} |`);
  }
  lines.push(
    '',
    `Heap growth per idle connection: ${s.heapBytesPerIdleConnection === null ? '–' : `${num(s.heapBytesPerIdleConnection)} bytes`}.`,
  );
  lines.push('', '| existing connections | ms per lifecycle (16 in flight) | lifecycles/s |', '|---|---|---|');
  for (const p of s.scale) {
    lines.push(`| ${num(p.existingConnections)} | ${fmt(p.msPerLifecycle)} | ${fmt(p.lifecyclesPerSecond)} |`);
  }
  lines.push('', `Time per lifecycle, largest ÷ smallest: **${fmt(s.scaleRatio, '×')}**.`, '');
  return lines.join('\n');
}
