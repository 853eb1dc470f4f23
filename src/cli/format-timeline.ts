import { isDeepStrictEqual } from 'node:util';
import type { ConnectionEvent } from '../../machines/connection-events.js';
import { emptyProjection, evolve } from '../../machines/connection-fold.js';
import type { HistoryEntry } from '../engine/create-engine.js';

/** Colour functions; identity when output is not a terminal. */
export interface Paint {
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
  cyan(s: string): string;
}

export const plain: Paint = {
  dim: (s) => s,
  red: (s) => s,
  green: (s) => s,
  yellow: (s) => s,
  bold: (s) => s,
  cyan: (s) => s,
};

const show = (v: unknown) => JSON.stringify(v);

/** `+key=value`, `-key`, `~key: old → new` between two metadata objects. */
export function metadataDiff(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!(key in after)) lines.push(`-${key}`);
    else if (!(key in before)) lines.push(`+${key}=${show(after[key])}`);
    else if (!isDeepStrictEqual(before[key], after[key]))
      lines.push(`~${key}: ${show(before[key])} → ${show(after[key])}`);
  }
  return lines;
}

function describe(entry: HistoryEntry, paint: Paint): string[] {
  const d = entry.data as Record<string, any>;
  switch (entry.type) {
    case 'CONNECT':
      return [`${paint.bold(`CONNECT ${d.integration}`)} with ${d.credentials?.type} credentials`];
    case 'RECONNECT':
      return [
        `${paint.bold('RECONNECT')} with new ${d.credentials?.type} credentials${d.connectionConfig ? ' and config' : ''}`,
      ];
    case 'REFRESH_FAILED':
      return [`${paint.bold('REFRESH_FAILED')}${d.message ? `: ${d.message}` : ''}`];
    case 'DELETE':
      return [paint.bold('DELETE')];
    case 'VALIDATION_STARTED':
      return [`validation starts: ${d.functions.length ? d.functions.join(', ') : 'no functions'}`];
    case 'RUN_STARTED':
      return [`▶ ${paint.cyan(d.function)} (${d.event}, attempt ${d.attempt})`];
    case 'RUN_SUCCEEDED':
    case 'RUN_FAILED':
    case 'RUN_TIMED_OUT': {
      const head =
        entry.type === 'RUN_SUCCEEDED'
          ? paint.green(`✓ ${d.function} succeeded in ${d.durationMs} ms`)
          : paint.red(
              `✗ ${d.function} ${entry.type === 'RUN_TIMED_OUT' ? 'timed out' : 'failed'} after ${d.durationMs} ms: ${d.error.type}: ${d.error.message}` +
                (d.error.status ? ` (HTTP ${d.error.status})` : '') +
                (d.error.type === 'script_internal_error'
                  ? ` (${d.error.payload?.name}: ${d.error.payload?.message})`
                  : ''),
            );
      const logs = ((d.logs ?? []) as Array<{ level: string; message: string }>).map((l) =>
        paint.dim(`  │ ${l.level}: ${l.message}`),
      );
      return [head, ...logs];
    }
    case 'VALIDATION_PASSED':
      return [paint.green('validation passed')];
    case 'VALIDATION_FAILED':
      return [paint.red(`validation failed: ${d.error.message}`)];
    case 'SETUP_FINISHED':
    case 'CLEANUP_FINISHED': {
      const what = entry.type === 'SETUP_FINISHED' ? 'setup' : 'cleanup';
      return [d.failed.length ? paint.yellow(`${what} finished; failed: ${d.failed.join(', ')}`) : `${what} finished`];
    }
    default:
      return [entry.type];
  }
}

/**
 * A readable timeline of a connection's log: each command, each function run with its attempt,
 * duration, outcome and log lines, each state change, and metadata changes as diffs.
 */
export function formatTimeline(history: HistoryEntry[], paint: Paint = plain): string {
  const lines: string[] = [];
  let projection = emptyProjection('timeline');
  for (const entry of history) {
    const before = projection.context.metadata;
    try {
      projection = evolve(projection, {
        version: entry.version,
        at: entry.at,
        event: { type: entry.type, ...entry.data } as ConnectionEvent,
      }).projection;
    } catch {
      // A log that does not replay still prints; `lifeline verify` reports it.
    }
    const states = entry.from === entry.to ? entry.to : `${entry.from ?? '∅'} → ${entry.to}`;
    const prefix = `${`v${entry.version}`.padEnd(5)} ${entry.at.toISOString()}  ${states.padEnd(24)} `;
    const pad = ' '.repeat(prefix.length);
    const body =
      entry.type === 'METADATA_SET' || entry.type === 'METADATA_UPDATED'
        ? [
            `metadata ${entry.type === 'METADATA_SET' ? 'set (replace)' : 'updated (merge)'} by ${(entry.data as { writer: string }).writer}`,
            ...metadataDiff(before, projection.context.metadata).map((l) => `  ${l}`),
            ...(((entry.data as { dropped?: string[] }).dropped ?? []).length
              ? [
                  paint.yellow(
                    `  ! dropped keys another writer set: ${(entry.data as { dropped: string[] }).dropped.join(', ')}`,
                  ),
                ]
              : []),
          ]
        : describe(entry, paint);
    lines.push(`${entry.from === entry.to ? paint.dim(prefix) : prefix}${body[0]}`);
    for (const more of body.slice(1)) lines.push(pad + more);
  }
  return lines.join('\n');
}
