/**
 * Group commit inside the engine: appends of different connections that wait at the same time go
 * to the database as one statement (one round trip, one commit). While fewer than `maxInFlight`
 * batches are out, an append leaves at once, alone: sequential callers wait for nothing. Under
 * load the appends that queued behind the batches in flight leave together.
 *
 * A batch that fails as a whole (a taken idempotency key, a lost connection) wrote nothing; its
 * items are then sent one by one, so that each gets its own outcome.
 *
 * @example
 * const batcher = new AppendBatcher((items) => writeAll(items));
 * const written = await batcher.submit(item); // whether item's connection was written
 */
export class AppendBatcher<T extends { connectionId: string }> {
  private readonly queue: Array<{ item: T; resolve: (written: boolean) => void; reject: (error: unknown) => void }> =
    [];
  private inFlight = 0;

  constructor(
    /** Writes `items` (distinct connections) atomically; returns the ids of those written. */
    private readonly write: (items: T[]) => Promise<Set<string>>,
    private readonly maxInFlight = 4,
    private readonly maxBatch = 64,
  ) {}

  submit(item: T): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(batch: AppendBatcher<T>['queue']) {
    try {
      const written = await this.write(batch.map((b) => b.item));
      for (const b of batch) b.resolve(written.has(b.item.connectionId));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      for (const b of batch) {
        await this.write([b.item]).then(
          (written) => b.resolve(written.has(b.item.connectionId)),
          (alone) => b.reject(alone),
        );
      }
    }
  }
}
