// Applies the numbered plain-SQL files in sql/ once each, in order. Several instances starting at
// once are safe: the whole run holds a transaction-scoped advisory lock, and DDL is transactional.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "postgres";

export const MIGRATIONS_DIR = join(import.meta.dir, "..", "..", "sql");
const MIGRATION_LOCK = 0x6c756d6f; // "lumo"

export interface Migration {
  version: string;
  sql: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d+_.+\.sql$/.test(file))
    .sort()
    .map((file) => ({ version: file.replace(/\.sql$/, ""), sql: readFileSync(join(dir, file), "utf8") }));
}

/** Returns the versions it applied. */
export async function migrate(sql: Sql, migrations = readMigrations()): Promise<string[]> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`create table if not exists schema_migrations (
      version text primary key, applied_at timestamptz not null default now())`;
    const done = new Set((await tx<{ version: string }[]>`select version from schema_migrations`).map((r) => r.version));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await tx.unsafe(migration.sql);
      await tx`insert into schema_migrations (version) values (${migration.version})`;
      applied.push(migration.version);
    }
    return applied;
  });
}

/** True when every migration shipped with this build has been applied (used by /ready). */
export async function isSchemaCurrent(sql: Sql, migrations = readMigrations()): Promise<boolean> {
  const [row] = await sql<[{ count: number }]>`
    select count(*)::int as count from schema_migrations where version in ${sql(migrations.map((m) => m.version))}`;
  return row.count === migrations.length;
}
