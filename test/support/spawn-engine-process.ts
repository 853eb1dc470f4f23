import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const script = fileURLToPath(new URL('./engine-process.ts', import.meta.url));

/**
 * Starts test/support/engine-process.ts in its own process. One process (node with tsx's loader,
 * not the tsx wrapper), so a SIGKILL kills the engine itself.
 */
export function spawnEngineProcess(config: Record<string, unknown>): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], { cwd: repo });
}
