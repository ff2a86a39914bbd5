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

export async function findCatalogueVersion(sql: Sql): Promise<number> {
  const [row] = await sql<{ version: string }[]>`select version from catalogue_state`;
  return Number(row?.version ?? 0);
}
