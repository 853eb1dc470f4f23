/**
 * Runs async work one at a time per key, in arrival order. Keys with no work hold no memory.
 *
 * @example
 * const mutex = new KeyedMutex();
 * await mutex.run('conn-1', async () => { ... }); // waits for earlier work on 'conn-1'
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
