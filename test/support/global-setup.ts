import pg from 'pg';

/** Says plainly whether the PostgreSQL suite runs, and fails fast when its server is unreachable. */
export default async function globalSetup() {
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
