import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/index.js';
import { fn } from '../support/functions.js';
import { engineFactory, type TestStore, testStores } from '../support/test-stores.js';

const oauth = (access_token: string) => ({ type: 'OAUTH2' as const, access_token });

/** A connection with a history of a dozen records: connect (with metadata writes), reconnect, refresh failure. */
async function lifecycle(engine: Engine, id: string) {
  await engine.send(id, {
    type: 'CONNECT',
    integration: 'sf',
    credentials: oauth('t-1234'),
    metadata: { plan: 'pro' },
  });
  await engine.settled();
  await engine.send(id, { type: 'RECONNECT', credentials: oauth('t-5678') });
  await engine.send(id, { type: 'REFRESH_FAILED' });
  return (await engine.history(id)).length;
}

describe.each(testStores)('tamper evidence on $name', (store: TestStore) => {
  const newEngine = engineFactory(store);
  const setup = async () => {
    const engine = await newEngine({
      functions: [
        fn('sf', 'check', 'validate-connection', (nango) => nango.updateMetadata({ org: 'A' })),
        fn('sf', 'hook', 'post-connection-creation', (nango) => nango.updateMetadata({ webhookId: 'wh-1' })),
      ],
    });
    const { db } = await store.open();
    const events = () => db.withSchema(engine.schema).updateTable('lifeline_events');
    const exec = (query: ReturnType<typeof sql>) => query.execute(db);
    const table = (name: string) => sql.table(`${engine.schema}.${name}`);
    return { engine, db, events, exec, table };
  };

  it('an untouched log verifies clean', async () => {
    const { engine } = await setup();
    const length = await lifecycle(engine, 'clean');
    expect(length).toBeGreaterThan(10);
    expect(await engine.verify()).toEqual({ connections: 1, records: length, mismatches: [] });
  });

  it('finds an edited record', async () => {
    const { engine, events } = await setup();
    await lifecycle(engine, 'c');
    await events()
      .set({ data: JSON.stringify({ metadata: { org: 'B' }, writer: 'function:sf/check' }) } as never)
      .where('connection_id', '=', 'c')
      .where('type', '=', 'METADATA_UPDATED')
      .where('version', '=', 4)
      .execute();
    const { mismatches } = await engine.verify(['c']);
    // A later validation writes org A again, so the projection still matches: only the hash tells.
    expect(mismatches).toEqual([expect.objectContaining({ connectionId: 'c', version: 4, problem: 'edited' })]);
  });

  it('finds a deleted record in the middle, and a deleted last record', async () => {
    const { engine, exec, table } = await setup();
    await lifecycle(engine, 'mid');
    const last = await lifecycle(engine, 'tail');
    await exec(sql`delete from ${table('lifeline_events')} where connection_id = 'mid' and version = 5`);
    await exec(sql`delete from ${table('lifeline_events')} where connection_id = 'tail' and version = ${last}`);
    const { mismatches } = await engine.verify(['mid', 'tail']);
    expect(mismatches).toContainEqual(
      expect.objectContaining({ connectionId: 'mid', problem: 'version_gap', version: 6 }),
    );
    expect(mismatches).toContainEqual(
      expect.objectContaining({ connectionId: 'mid', problem: 'chain_broken', version: 6 }),
    );
    expect(mismatches.filter((m) => m.connectionId === 'tail')).toEqual([
      expect.objectContaining({ problem: 'projection_differs' }),
    ]);
  });

  it('finds two records swapped', async () => {
    const { engine, exec, table } = await setup();
    await lifecycle(engine, 'swap');
    const t = table('lifeline_events');
    await exec(sql`update ${t} set version = -1 where connection_id = 'swap' and version = 3`);
    await exec(sql`update ${t} set version = 3 where connection_id = 'swap' and version = 4`);
    await exec(sql`update ${t} set version = 4 where connection_id = 'swap' and version = -1`);
    const problems = (await engine.verify(['swap'])).mismatches.map((m) => `${m.problem}@${m.version}`);
    expect(problems).toEqual(expect.arrayContaining(['edited@3', 'edited@4', 'chain_broken@3']));
  });

  it('finds an inserted record, even one given a copied hash', async () => {
    const { engine, exec, table } = await setup();
    const length = await lifecycle(engine, 'ins');
    const t = table('lifeline_events');
    await exec(
      sql`insert into ${t} (connection_id, version, type, data, state_from, state_to, at, machine_version, prev_hash, hash)
          select connection_id, ${length + 1}, 'METADATA_UPDATED', ${JSON.stringify({ metadata: { evil: true }, writer: 'app' })}::jsonb,
                 state_to, state_to, now(), machine_version, hash, hash
          from ${t} where connection_id = 'ins' and version = ${length}`,
    );
    const { mismatches } = await engine.verify(['ins']);
    expect(mismatches).toContainEqual(expect.objectContaining({ problem: 'edited', version: length + 1 }));
    expect(mismatches).toContainEqual(expect.objectContaining({ problem: 'projection_differs' }));
  });

  it('finds an edited projection, and a projection row that was deleted', async () => {
    const { engine, exec, table } = await setup();
    await lifecycle(engine, 'proj');
    await lifecycle(engine, 'gone');
    await exec(sql`update ${table('lifeline_connections')} set state = 'active' where connection_id = 'proj'`);
    await exec(sql`delete from ${table('lifeline_connections')} where connection_id = 'gone'`);
    const { mismatches } = await engine.verify();
    expect(mismatches).toContainEqual(expect.objectContaining({ connectionId: 'proj', problem: 'projection_differs' }));
    expect(mismatches).toContainEqual(expect.objectContaining({ connectionId: 'gone', problem: 'no_projection' }));
  });

  it('whole-store verify reads a page of connections at a time and keeps each record with its connection', async () => {
    const { engine, events } = await setup();
    let records = 0;
    for (const id of ['p1', 'p2', 'p3', 'p4', 'p5']) records += await lifecycle(engine, id);
    for (const id of ['p3', 'p5']) {
      await events()
        .set({ data: JSON.stringify({ metadata: { org: 'B' }, writer: 'function:sf/check' }) } as never)
        .where('connection_id', '=', id)
        .where('version', '=', 4)
        .execute();
    }
    const report = await engine.verify(undefined, { pageSize: 2 });
    expect(report.connections).toBe(5);
    expect(report.records).toBe(records);
    expect(report.mismatches.map((m) => `${m.connectionId}@${m.version}:${m.problem}`)).toEqual([
      'p3@4:edited',
      'p5@4:edited',
    ]);
  });

  it('verify of an unknown connection says so', async () => {
    const { engine } = await setup();
    expect((await engine.verify(['nobody'])).mismatches).toEqual([
      { connectionId: 'nobody', problem: 'no_projection', message: 'no connection nobody' },
    ]);
  });
});
