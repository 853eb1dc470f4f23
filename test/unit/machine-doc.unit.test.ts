import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { machineDiagram, machineDoc, toMermaid } from '../../src/diagram/machine-diagram.js';

describe('docs/machine.md', () => {
  it('is what the machine generates today (run `npm run docs:machine` when this fails)', () => {
    expect(readFileSync(new URL('../../docs/machine.md', import.meta.url), 'utf8')).toBe(machineDoc());
  });

  it('draws every state-changing transition of the lifecycle table', () => {
    const mermaid = toMermaid();
    for (const edge of [
      'deleted --> pending: CONNECT',
      'pending --> validating: VALIDATION_STARTED',
      'pending --> deleting: DELETE',
      'validating --> active: VALIDATION_PASSED [currentValidation and firstConnect]',
      'validating --> deleted: VALIDATION_FAILED [currentValidation and firstConnect]',
      'validating --> auth_error: VALIDATION_FAILED [currentValidation]',
      'active --> validating: RECONNECT',
      'active --> auth_error: REFRESH_FAILED',
      'auth_error --> validating: RECONNECT',
      'auth_error --> deleting: DELETE',
      'awaiting_setup --> cleaning: always [not setupRunning]',
      'cleaning --> deleted: CLEANUP_FINISHED',
    ]) {
      expect(mermaid).toContain(`  ${edge}\n`);
    }
    expect(machineDiagram('dot')).toContain('"cleaning" -> "deleted" [label="CLEANUP_FINISHED"];');
  });
});
