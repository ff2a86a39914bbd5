// SQL of the export: it reads the tables of several features (users now; the list's when it lands)
// with its own statements, so that no feature imports another.
import type { Queryable as Sql } from "../db/connect.ts";
import type { ProfileRecord } from "../shared/profile.ts";

export async function findProfile(sql: Sql, userId: number): Promise<ProfileRecord | undefined> {
  const [row] = await sql<[{ id: number; username: string; email: string; created_at: Date; picture_id: number | null }?]>`
    select id, username, email, created_at, picture_id from users where id = ${userId}`;
  return row && { id: row.id, username: row.username, email: row.email, created: row.created_at, pictureId: row.picture_id };
}

/**
 * The user's settings (GET /account/settings' data). Until the list feature (issue 12) lands there
 * are none; then this reads `select list_public from users where id = …` into { list_public }.
 */
export async function findSettings(_sql: Sql, _userId: number): Promise<Record<string, unknown>> {
  return {};
}

/**
 * The user's list entries, every field the list's API shows (notes and private entries included:
 * the export is the owner's). Until the list feature (issue 12) lands, there are none; then this
 * reads list_entries for the user.
 */
export async function findListEntries(_sql: Sql, _userId: number): Promise<unknown[]> {
  return [];
}
