// SQL of the export: it reads the tables of several features (users, tokens, the list)
// with its own statements, so that no feature imports another.
import type { Queryable as Sql } from "../db/connect.ts";
import type { ProfileRecord } from "../shared/profile.ts";

export async function findProfile(sql: Sql, userId: number): Promise<ProfileRecord | undefined> {
  const [row] = await sql<[{ id: number; username: string; email: string; created_at: Date; picture_id: number | null }?]>`
    select id, username, email, created_at, picture_id from users where id = ${userId}`;
  return row && { id: row.id, username: row.username, email: row.email, created: row.created_at, pictureId: row.picture_id };
}

/** The user's settings, as GET /account/settings' data. */
export async function findSettings(sql: Sql, userId: number): Promise<{ list_public: boolean }> {
  const [row] = await sql<[{ list_public: boolean }?]>`select list_public from users where id = ${userId}`;
  return { list_public: row?.list_public ?? false };
}

/**
 * The user's list entries as GET /list shows them (anime object, every field, notes and private
 * entries included: the export is the owner's), most recently updated first, built by PostgreSQL.
 */
export async function findListEntries(sql: Sql, userId: number): Promise<unknown[]> {
  const [row] = await sql<[{ entries: string }]>`
    select coalesce(json_agg(json_build_object(
      'anime', a.body::json, 'status', l.status, 'episodes_watched', l.episodes_watched, 'score', l.score,
      'rewatches', l.rewatches, 'private', l.private,
      'started_on', to_char(l.started_on, 'YYYY-MM-DD'), 'finished_on', to_char(l.finished_on, 'YYYY-MM-DD'),
      'notes', l.notes,
      'created', to_char(l.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'updated', to_char(l.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    ) order by l.updated_at desc, l.anime_id), '[]')::text as entries
    from list_entries l join anime a on a.id = l.anime_id
    where l.user_id = ${userId}`;
  return JSON.parse(row.entries) as unknown[];
}
