import type { StoredProjection } from '../store/event-store.js';

/**
 * The connections an engine is working on, and the projection it last wrote for each, so that the
 * next commit of a lifecycle starts from it instead of reading it back. A connection leaves the
 * set (and its projection is forgotten) when its last piece of work ends: an idle connection
 * costs no memory.
 *
 * A remembered projection may be stale (another process wrote since); the append's version check
 * catches that, and the engine then forgets it and reads the connection again.
 *
 * @example
 * const working = new WorkingSet();
 * working.enter('c1');
 * working.remember(projection); // kept: c1 is being worked on
 * working.leave('c1');          // forgotten
 */
export class WorkingSet {
  private readonly holds = new Map<string, number>();
  private readonly projections = new Map<string, StoredProjection>();

  enter(connectionId: string): void {
    this.holds.set(connectionId, (this.holds.get(connectionId) ?? 0) + 1);
  }

  leave(connectionId: string): void {
    const holds = (this.holds.get(connectionId) ?? 1) - 1;
    if (holds > 0) {
      this.holds.set(connectionId, holds);
      return;
    }
    this.holds.delete(connectionId);
    this.projections.delete(connectionId);
  }

  /** The projection this engine last wrote for the connection, if it is still working on it. */
  get(connectionId: string): StoredProjection | undefined {
    return this.projections.get(connectionId);
  }

  /** Keeps `projection` only while its connection is being worked on. */
  remember(projection: StoredProjection): void {
    if (this.holds.has(projection.connectionId)) this.projections.set(projection.connectionId, projection);
  }

  forget(connectionId: string): void {
    this.projections.delete(connectionId);
  }

  /** How many connections hold a remembered projection (for tests and benchmarks). */
  get size(): number {
    return this.projections.size;
  }
}
