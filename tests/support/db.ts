// A fresh, empty database for one test file:
//  - with DATABASE_URL set (CI, or a PostgreSQL of yours): a new database created in that server,
//    dropped again by drop();
//  - without it: a new temporary DATA_DIR for the embedded PGlite database.
// `env` holds the variables that point the server or the importer at it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";

export interface TestDatabase {
  mode: "postgres" | "embedded";
  /** DATABASE_URL, or DATA_DIR for the embedded database. */
  env: Record<string, string>;
  url?: string;
  dataDir?: string;
  drop(): Promise<void>;
}

export const adminUrl = process.env.DATABASE_URL;

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!adminUrl) {
    const dataDir = mkdtempSync(join(tmpdir(), "lumotist-test-"));
    return { mode: "embedded", env: { DATA_DIR: dataDir }, dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `lumotist_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    mode: "postgres",
    env: { DATABASE_URL: url.href },
    url: url.href,
    async drop() {
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
