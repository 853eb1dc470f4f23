import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LifelineError } from '../errors.js';

/**
 * An exclusive lock on an embedded data directory: a `<dir>.lock` file holding the owner's pid.
 * Two processes opening one PGlite directory would corrupt it, so the second one is refused. A
 * lock left by a process that no longer exists is taken over.
 */
export interface DataDirLock {
  path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  const path = `${dataDir}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        rmSync(path, { force: true });
      };
      process.on('exit', release);
      return { path, release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
        throw new LifelineError(
          'store_locked',
          `the embedded store ${dataDir} is open in process ${owner}; only one process may open it (use a PostgreSQL server to share a store)`,
          { pid: owner },
        );
      }
      if (owner === process.pid) {
        throw new LifelineError('store_locked', `the embedded store ${dataDir} is already open in this process`);
      }
      rmSync(path, { force: true }); // stale: its owner is gone
    }
  }
  throw new LifelineError('store_locked', `could not lock the embedded store ${dataDir}`);
}
