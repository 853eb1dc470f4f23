import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const guide = readFileSync(join(repo, 'docs/guides/auditing.md'), 'utf8');
const cwd = mkdtempSync(join(tmpdir(), 'lifeline-guide-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** What legitimately differs between runs: times, durations. */
const normalize = (text: string) =>
  text
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, '<time>')
    .replace(/\d+ ms/g, '<n> ms')
    .replace(/ +$/gm, '')
    .trim();

/** Each `lifeline …` command of the guide with the output block that follows it. */
function examples(): Array<{ command: string; output: string }> {
  const found: Array<{ command: string; output: string }> = [];
  const pattern = /```sh\n(lifeline [^\n]+)\n```\n\n```\n([\s\S]*?)\n```/g;
  for (const match of guide.matchAll(pattern)) found.push({ command: match[1] as string, output: match[2] as string });
  return found;
}

describe('docs/guides/auditing.md', () => {
  it('shows what the commands print on a fresh incident', () => {
    const incident = spawnSync(join(repo, 'node_modules/.bin/tsx'), [join(repo, 'demo/incident.ts')], {
      cwd,
      encoding: 'utf8',
    });
    expect(incident.status, incident.stderr).toBe(0);
    const shown = /npm run incident\n```\n\n```\n([\s\S]*?)\n```/.exec(guide)?.[1];
    expect(normalize(incident.stdout)).toBe(normalize(shown ?? ''));

    const list = examples();
    expect(list.map((e) => e.command.split(' ')[1])).toEqual(['connections', 'show', 'history', 'replay', 'verify']);
    for (const { command, output } of list) {
      const args = command.split(' ').slice(1);
      const run = spawnSync(process.execPath, [join(repo, 'dist/src/cli.js'), ...args], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', LIFELINE_DATABASE_URL: 'pglite://.lifeline/incident' },
      });
      expect(run.status, `${command}: ${run.stderr}`).toBe(0);
      expect(normalize(run.stdout), command).toBe(normalize(output));
    }
  }, 120_000);
});
