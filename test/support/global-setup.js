// Says once, at the top of every run, which databases the database tests run on.
export default function globalSetup() {
  const kinds = process.env.TEST_DATABASE_URL ? 'PGlite and PostgreSQL (TEST_DATABASE_URL)' : 'PGlite only (set TEST_DATABASE_URL to add PostgreSQL)';
  process.stdout.write(`\nDatabase tests run on: ${kinds}\n`);
}
