import { describe, expect, it } from 'vitest';
import type { ConnectionEvent, SealedCredentials } from '../../machines/connection-events.js';
import {
  accepts,
  type ConnectionProjection,
  emptyProjection,
  evolve,
  type ServiceRequest,
} from '../../machines/connection-fold.js';

// Given/When/Then over the pure machine: no engine, no database, no functions.
const at = new Date('2026-01-01T00:00:00Z');
const creds = (n: number): SealedCredentials => ({ type: 'OAUTH2', ciphertext: `v1:sealed-${n}` });

function given(...events: ConnectionEvent[]): ConnectionProjection {
  let p = emptyProjection('c');
  for (const event of events) p = evolve(p, { version: p.version + 1, event, at }).projection;
  return p;
}

function when(p: ConnectionProjection, event: ConnectionEvent): { after: ConnectionProjection; services: string[] } {
  const r = evolve(p, { version: p.version + 1, event, at });
  return { after: r.projection, services: r.services.map((s: ServiceRequest) => s.src) };
}

const CONNECT: ConnectionEvent = {
  type: 'CONNECT',
  integration: 'salesforce',
  credentials: creds(1),
  connectionConfig: { instance_url: 'a' },
  metadata: { plan: 'pro' },
};
const STARTED: ConnectionEvent = { type: 'VALIDATION_STARTED', functions: ['validate-connection'] };
const passed = (validation: number): ConnectionEvent => ({ type: 'VALIDATION_PASSED', validation });
const failed = (validation: number, message = 'nope'): ConnectionEvent => ({
  type: 'VALIDATION_FAILED',
  validation,
  error: { type: 'connection_validation_failed', message, function: 'validate-connection' },
});
const RECONNECT: ConnectionEvent = {
  type: 'RECONNECT',
  credentials: creds(2),
  connectionConfig: { instance_url: 'b' },
};
const active = () => given(CONNECT, STARTED, passed(1), { type: 'SETUP_FINISHED', failed: [] });
const authError = () =>
  given(CONNECT, STARTED, passed(1), { type: 'SETUP_FINISHED', failed: [] }, RECONNECT, failed(2));

describe('CONNECT', () => {
  it('is accepted when there is no connection yet: credentials stored, state pending', () => {
    const { after: then } = when(emptyProjection('c'), CONNECT);
    expect(then.state).toBe('pending');
    expect(then.context.credentials).toEqual(creds(1));
    expect(then.context.metadata).toEqual({ plan: 'pro' });
    expect(then.context.generation).toBe(1);
  });

  it('pending → validating starts the validate-connection service', () => {
    const { after: then, services } = when(given(CONNECT), STARTED);
    expect(then.state).toBe('validating');
    expect(services).toEqual(['validate-connection']);
  });

  it('a passing validation → active, and post-connection-creation starts in the background', () => {
    const { after: then, services } = when(given(CONNECT, STARTED), passed(1));
    expect(then.state).toBe('active');
    expect(services).toEqual(['post-connection-creation']);
    expect(then.context.setupRunning).toBe(true);
  });

  it('a failing first validation → deleted with connection_validation_failed, no cleanup, no credentials kept', () => {
    const { after: then, services } = when(given(CONNECT, STARTED), failed(1, 'bad org'));
    expect(then.state).toBe('deleted');
    expect(services).toEqual([]);
    expect(then.context.error).toEqual({
      type: 'connection_validation_failed',
      message: 'bad org',
      function: 'validate-connection',
    });
    expect(then.context.credentials).toBeNull();
  });

  it('is accepted on a deleted connection: a new generation with fresh metadata and no error', () => {
    const deleted = given(CONNECT, STARTED, failed(1));
    const { after: then } = when(deleted, { ...CONNECT, metadata: {} } as ConnectionEvent);
    expect(then.state).toBe('pending');
    expect(then.context.generation).toBe(2);
    expect(then.context.error).toBeNull();
    expect(then.context.metadata).toEqual({});
  });

  it('is refused on a live connection', () => {
    for (const p of [given(CONNECT), given(CONNECT, STARTED), active(), authError()]) {
      expect(accepts(p, CONNECT)).toBe(false);
    }
  });
});

describe('RECONNECT', () => {
  it('in active: new credentials and config stored first, metadata kept, → validating', () => {
    const before = given(...[CONNECT, STARTED, passed(1)], {
      type: 'METADATA_UPDATED',
      metadata: { org: 'A' },
      writer: 'app',
    });
    const { after: then, services } = when(before, RECONNECT);
    expect(then.state).toBe('validating');
    expect(services).toEqual(['validate-connection']);
    expect(then.context.credentials).toEqual(creds(2));
    expect(then.context.connectionConfig).toEqual({ instance_url: 'b' });
    expect(then.context.metadata).toEqual({ plan: 'pro', org: 'A' });
  });

  it('keeps the connection config when none is given', () => {
    const { after: then } = when(active(), { type: 'RECONNECT', credentials: creds(3) });
    expect(then.context.connectionConfig).toEqual({ instance_url: 'a' });
  });

  it('pass → active with the auth error cleared, and post-connection-creation does not run again', () => {
    const { after: then, services } = when(
      given(...[CONNECT, STARTED, passed(1)], RECONNECT, failed(2), RECONNECT),
      passed(3),
    );
    expect(then.state).toBe('active');
    expect(then.context.error).toBeNull();
    expect(services).toEqual([]);
  });

  it('fail → auth_error with refresh_exhausted; the rejected credentials stay stored', () => {
    const { after: then } = when(given(CONNECT, STARTED, passed(1), RECONNECT), failed(2, 'org mismatch'));
    expect(then.state).toBe('auth_error');
    expect(then.context.error).toEqual({
      type: 'connection_validation_failed',
      reason: 'refresh_exhausted',
      message: 'org mismatch',
      function: 'validate-connection',
    });
    expect(then.context.credentials).toEqual(creds(2));
  });

  it('is accepted in auth_error and refused when pending, validating, deleting or deleted', () => {
    expect(accepts(authError(), RECONNECT)).toBe(true);
    for (const p of [
      emptyProjection('c'),
      given(CONNECT),
      given(CONNECT, STARTED),
      given(CONNECT, STARTED, failed(1)),
    ]) {
      expect(accepts(p, RECONNECT)).toBe(false);
    }
    expect(accepts(given(...[CONNECT, STARTED, passed(1)], { type: 'DELETE' }), RECONNECT)).toBe(false);
  });
});

describe('REFRESH_FAILED', () => {
  it('in active → auth_error with refresh_exhausted', () => {
    const { after: then } = when(active(), { type: 'REFRESH_FAILED', message: 'invalid_grant' });
    expect(then.state).toBe('auth_error');
    expect(then.context.error).toEqual({
      type: 'refresh_failed',
      reason: 'refresh_exhausted',
      message: 'invalid_grant',
    });
  });

  it('is refused anywhere but active', () => {
    for (const p of [emptyProjection('c'), given(CONNECT), given(CONNECT, STARTED), authError()]) {
      expect(accepts(p, { type: 'REFRESH_FAILED' })).toBe(false);
    }
  });
});

describe('DELETE', () => {
  it('in active with no setup running → deleting, cleanup starts; CLEANUP_FINISHED → deleted', () => {
    const { after: then, services } = when(active(), { type: 'DELETE' });
    expect(then.stateValue).toEqual({ deleting: 'cleaning' });
    expect(services).toEqual(['pre-connection-deletion']);
    const done = when(then, { type: 'CLEANUP_FINISHED', failed: ['pre-connection-cleanup'] }).after;
    expect(done.state).toBe('deleted');
    expect(done.context.credentials).toBeNull();
  });

  it('waits for a running post-connection-creation before cleanup starts', () => {
    const { after: then, services } = when(given(CONNECT, STARTED, passed(1)), { type: 'DELETE' });
    expect(then.stateValue).toEqual({ deleting: 'awaiting_setup' });
    expect(services).toEqual([]);
    const after = when(then, { type: 'SETUP_FINISHED', failed: [] });
    expect(after.after.stateValue).toEqual({ deleting: 'cleaning' });
    expect(after.services).toEqual(['pre-connection-deletion']);
  });

  it('is accepted in pending and auth_error', () => {
    expect(when(given(CONNECT), { type: 'DELETE' }).after.state).toBe('deleting');
    expect(when(authError(), { type: 'DELETE' }).after.state).toBe('deleting');
  });

  it('is refused twice, while validating, and when there is no connection', () => {
    const deleting = when(active(), { type: 'DELETE' }).after;
    for (const p of [deleting, given(CONNECT, STARTED), emptyProjection('c'), given(CONNECT, STARTED, failed(1))]) {
      expect(accepts(p, { type: 'DELETE' })).toBe(false);
    }
  });
});

describe('metadata', () => {
  it('set replaces and records who wrote each key; update merges', () => {
    let p = when(active(), { type: 'METADATA_SET', metadata: { a: 1, b: 2 }, writer: 'function:sf/x' }).after;
    expect(p.context.metadata).toEqual({ a: 1, b: 2 });
    p = when(p, { type: 'METADATA_UPDATED', metadata: { b: 3, c: 4 }, writer: 'app' }).after;
    expect(p.context.metadata).toEqual({ a: 1, b: 3, c: 4 });
    expect(p.context.metadataWriters).toEqual({ a: 'function:sf/x', b: 'app', c: 'app' });
    expect(p.state).toBe('active');
  });

  it('is accepted in every live state and refused when deleted', () => {
    const write: ConnectionEvent = { type: 'METADATA_UPDATED', metadata: { x: 1 }, writer: 'app' };
    for (const p of [
      given(CONNECT),
      given(CONNECT, STARTED),
      active(),
      authError(),
      when(active(), { type: 'DELETE' }).after,
    ]) {
      expect(accepts(p, write)).toBe(true);
    }
    expect(accepts(given(CONNECT, STARTED, failed(1)), write)).toBe(false);
    expect(accepts(emptyProjection('c'), write)).toBe(false);
  });
});

describe('function runs and stale outcomes', () => {
  it('tracks runs from start to outcome; an outcome for an unknown run is refused', () => {
    const run: ConnectionEvent = {
      type: 'RUN_STARTED',
      runId: 'r1',
      event: 'validate-connection',
      function: 'v',
      attempt: 1,
    };
    const p = when(given(CONNECT, STARTED), run).after;
    expect(Object.keys(p.context.runs)).toEqual(['r1']);
    const done = when(p, { type: 'RUN_SUCCEEDED', runId: 'r1', function: 'v', durationMs: 1 }).after;
    expect(done.context.runs).toEqual({});
    expect(accepts(done, { type: 'RUN_SUCCEEDED', runId: 'r1', function: 'v', durationMs: 1 })).toBe(false);
  });

  it('a validation outcome for an earlier validation is refused', () => {
    const p = given(CONNECT, STARTED, passed(1), RECONNECT);
    expect(accepts(p, passed(1))).toBe(false);
    expect(accepts(p, failed(1))).toBe(false);
    expect(accepts(p, passed(2))).toBe(true);
  });

  it('commands that arrive mid-validation are not accepted by the machine (the engine queues them)', () => {
    const validating = given(CONNECT, STARTED);
    for (const cmd of [RECONNECT, { type: 'DELETE' } as const, { type: 'REFRESH_FAILED' } as const, CONNECT]) {
      expect(accepts(validating, cmd)).toBe(false);
    }
  });
});
