import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/index.js';
import { fn } from '../support/functions.js';
import { engineFactory, pgliteStore } from '../support/test-stores.js';

const RUNS = Number(process.env.LIFELINE_PROPERTY_RUNS ?? 25);

// A random history: commands (accepted or refused), app metadata writes, validators that pass or fail.
const step = fc.oneof(
  fc.record({
    kind: fc.constant('send' as const),
    type: fc.constantFrom('CONNECT', 'RECONNECT', 'REFRESH_FAILED', 'DELETE'),
    pass: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('metadata' as const),
    key: fc.constantFrom('a', 'b', 'c'),
    value: fc.integer({ max: 9, min: 0 }),
    replace: fc.boolean(),
  }),
);

describe('replay at any point of a long random history', () => {
  const newEngine = engineFactory(pgliteStore);

  it('rebuilds, at every version and at every record time, the state the log recorded then', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 40 }), async (steps) => {
        let pass = true;
        const engine = await newEngine({
          functions: [
            fn('sf', 'check', 'validate-connection', (nango) => {
              if (!pass) throw new nango.ActionError('rejected');
              return nango.updateMetadata({ checked: true });
            }),
          ],
        });
        for (const s of steps) {
          if (s.kind === 'metadata') {
            const write = s.replace
              ? engine.setMetadata('p', { [s.key]: s.value })
              : engine.updateMetadata('p', { [s.key]: s.value });
            await write.catch(() => {});
            continue;
          }
          pass = s.pass;
          const command = (
            s.type === 'CONNECT'
              ? { type: 'CONNECT', integration: 'sf', credentials: { type: 'API_KEY', apiKey: 'key-123456' } }
              : s.type === 'RECONNECT'
                ? { type: 'RECONNECT', credentials: { type: 'API_KEY', apiKey: 'key-654321' } }
                : { type: s.type }
          ) as Command;
          await engine.send('p', command).catch(() => {});
          await engine.settled();
        }
        const history = await engine.history('p');
        expect(await engine.replay('p')).toEqual(await engine.getConnection('p'));
        for (const [i, record] of history.entries()) {
          const then = await engine.replay('p', { toVersion: record.version });
          expect(then?.version).toBe(record.version);
          expect(then?.state).toBe(record.to);
          // At a record's time, replay includes every record written in that same instant.
          const lastAtThatTime = history.findLast((r) => r.at.getTime() <= record.at.getTime()) ?? record;
          const atTime = await engine.replay('p', { at: record.at.toISOString() });
          expect(atTime?.version).toBe(lastAtThatTime.version);
          expect(atTime?.state).toBe(lastAtThatTime.to);
          if (i === 0) expect(await engine.replay('p', { at: new Date(record.at.getTime() - 1) })).toBeNull();
        }
      }),
      { numRuns: RUNS },
    );
  }, 300_000);
});
