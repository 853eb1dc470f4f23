import type { HistoryEntry } from '../engine/create-engine.js';

function describe(entry: HistoryEntry): string {
  const d = entry.data as Record<string, any>;
  switch (entry.type) {
    case 'CONNECT':
      return `connect ${d.integration} with ${d.credentials?.type} credentials`;
    case 'RECONNECT':
      return `reconnect with new ${d.credentials?.type} credentials`;
    case 'VALIDATION_STARTED':
      return `validation starts: ${d.functions.length ? d.functions.join(', ') : 'no functions'}`;
    case 'RUN_STARTED':
      return `run ${d.event}/${d.function} (attempt ${d.attempt})`;
    case 'RUN_SUCCEEDED':
      return `  ${d.function} succeeded in ${d.durationMs} ms`;
    case 'RUN_FAILED':
    case 'RUN_TIMED_OUT':
      return `  ${d.function} failed in ${d.durationMs} ms: ${d.error.type}: ${d.error.message}`;
    case 'METADATA_SET':
      return `  metadata set by ${d.writer}: ${JSON.stringify(d.metadata)}${d.dropped ? ` (dropped ${d.dropped.join(', ')})` : ''}`;
    case 'METADATA_UPDATED':
      return `  metadata updated by ${d.writer}: ${JSON.stringify(d.metadata)}`;
    case 'VALIDATION_PASSED':
      return 'validation passed';
    case 'VALIDATION_FAILED':
      return `validation failed: ${d.error.message}`;
    case 'SETUP_FINISHED':
    case 'CLEANUP_FINISHED':
      return `${entry.type === 'SETUP_FINISHED' ? 'setup' : 'cleanup'} finished${d.failed.length ? `, failed: ${d.failed.join(', ')}` : ''}`;
    case 'REFRESH_FAILED':
      return `token refresh failed${d.message ? `: ${d.message}` : ''}`;
    default:
      return entry.type.toLowerCase();
  }
}

/** A readable, one-line-per-record timeline of a connection's history. */
export function formatTimeline(history: HistoryEntry[]): string {
  return history
    .map((entry) => {
      const states = entry.from === entry.to ? `${entry.to}` : `${entry.from ?? '∅'} → ${entry.to}`;
      return `  v${String(entry.version).padStart(2)}  ${entry.at.toISOString().slice(11, 23)}  ${states.padEnd(24)} ${describe(entry)}`;
    })
    .join('\n');
}
