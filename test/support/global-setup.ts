import { execFileSync } from 'node:child_process';
import pg from 'pg';

/**
 * Builds `dist/` once for the end-to-end tests (they run the built `lifeline` binary and pack the
 * package), then says plainly whether the PostgreSQL suite runs, failing fast when its server is
 * unreachable.
 */
export default async function globalSetup() {
  // tsc over the existing dist/ (not `npm run build`, which empties it first and would pull the
  // binary from under another test run).
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

  const url = process.env.LIFELINE_TEST_DATABASE_URL;
  if (!url) {
    console.warn(
      '\n[lifeline] PostgreSQL suite SKIPPED: LIFELINE_TEST_DATABASE_URL is not set. Integration tests run on embedded PGlite only.\n',
    );
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>('show server_version');
  await client.end();
  console.log(
    `\n[lifeline] PostgreSQL suite runs against ${url.replace(/:[^:@/]*@/, ':***@')} (server ${rows[0]?.server_version}).\n`,
  );
}
