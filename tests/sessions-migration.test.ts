// sql/006_sessions.sql on a database that already holds tokens (PostgreSQL and embedded PGlite): each
// existing token gets its own opaque session id in the API's form, no user agent and no last use.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { loadConfig } from "../src/config.ts";
import { type Database, openDatabase } from "../src/db/connect.ts";
import { migrate, readMigrations } from "../src/db/migrate.ts";
import { createLogger } from "../src/log.ts";
import { type TestDatabase, createTestDatabase } from "./support/db.ts";
import { TEST_ENV } from "./support/server.ts";

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDatabase(loadConfig({ ...TEST_ENV, ...database.env }), createLogger("silent"));
}, 60_000);

afterAll(async () => {
  await db?.close();
  await database?.drop();
}, 30_000);

test("existing tokens get distinct 22-character base64url ids, unrelated to their digests", async () => {
  const all = readMigrations();
  await migrate(db.sql, all.filter((m) => m.version < "006"));
  const [user] = await db.sql<[{ id: number }]>`
    insert into users (username, username_key, email, email_key, password_hash)
    values ('old', 'old', 'old@example.com', 'old@example.com', 'x') returning id`;
  const digests = Array.from({ length: 200 }, () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))));
  for (const digest of digests) {
    await db.sql`insert into tokens (digest, user_id, expires_at) values (${digest}, ${user!.id}, now() + interval '1 day')`;
  }

  expect(await migrate(db.sql, all)).toContain("006_sessions");
  const rows = await db.sql<{ digest: Buffer; session_id: string; user_agent: string | null; last_used_at: Date | null }[]>`
    select digest, session_id, user_agent, last_used_at from tokens`;
  expect(rows).toHaveLength(digests.length);
  expect(new Set(rows.map((row) => row.session_id)).size).toBe(rows.length);
  for (const row of rows) {
    expect(row.session_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(row.digest.toString("base64url").includes(row.session_id)).toBe(false);
    expect(row.user_agent).toBeNull();
    expect(row.last_used_at).toBeNull();
  }
  // A user agent longer than 256 characters cannot be stored.
  await expect(db.sql`update tokens set user_agent = ${"x".repeat(257)}`).rejects.toThrow();
});
