// SQL the catalogue's read side needs: the id index, one entry's body, the catalogue's version.
import type { Sql } from "postgres";

/** Every id, as one int4[] so that 400,000 ids arrive as one row, not 400,000 objects. */
export async function findAllAnimeIds(sql: Sql): Promise<Int32Array> {
  const [row] = await sql<{ ids: number[] | null }[]>`select array_agg(id order by id) as ids from anime`;
  return Int32Array.from(row.ids ?? []);
}

export async function findAnimeBodyById(sql: Sql, id: number): Promise<string | undefined> {
  const [row] = await sql<{ body: string }[]>`select body from anime where id = ${id}`;
  return row?.body;
}

/** The next `limit` entries after id `after`, in id order (keyset pagination: each query is short). */
export async function findAnimeBodiesAfter(sql: Sql, after: number, limit: number): Promise<{ id: number; body: string }[]> {
  return sql<{ id: number; body: string }[]>`select id, body from anime where id > ${after} order by id limit ${limit}`;
}

export async function findCatalogueVersion(sql: Sql): Promise<number> {
  const [row] = await sql<{ version: string }[]>`select version from catalogue_state`;
  return Number(row?.version ?? 0);
}
