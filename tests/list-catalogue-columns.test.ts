// The list reads three columns that the catalogue's migration 004 (issue 11) adds: season and studios
// (for the random pick's filters) and duration_seconds (for days_watched). Without them a season or
// studio filter matches nothing and days_watched is 0; with them (added here if the migrations have
// not yet) they are used. Each test starts its own server: the list reads which columns exist once.
import { afterEach, expect, test } from "bun:test";
import { call } from "./account-support.ts";
import { loadFixtureCatalogue, putEntry } from "./support/list.ts";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
}, 60_000);

async function hasColumn(s: TestServer, name: string) {
  const [row] = await s.running.db.sql<[{ found: boolean }]>`
    select exists (select 1 from information_schema.columns where table_name = 'anime' and column_name = ${name}) as found`;
  return row.found;
}

test("with the columns: season and studio filters, and days from each anime's episode duration", async () => {
  server = await startTestServer();
  const anime = await loadFixtureCatalogue(server, 6);
  const sql = server.running.db.sql;
  await sql`alter table anime add column if not exists season text, add column if not exists studios text[] not null default '{}',
            add column if not exists duration_seconds integer`;
  await sql`update anime set season = 'Fall', studios = '{madhouse}', duration_seconds = 1440 where id = ${anime[0]!.id}`;
  await sql`update anime set season = 'Spring', studios = '{bones}', duration_seconds = null where id = ${anime[1]!.id}`;
  const { token } = await registerUser(server, uniqueUser("columns"));
  await putEntry(server, token, anime[0]!.id, { status: "watching", episodes_watched: 12 });
  await putEntry(server, token, anime[1]!.id, { status: "watching", episodes_watched: 5 });

  for (let i = 0; i < 10; i++) {
    expect((await call(server, "/list/random?season=fall", { token })).body.anime.id).toBe(anime[0]!.id);
    expect((await call(server, "/list/random?studio=MADHOUSE", { token })).body.anime.id).toBe(anime[0]!.id);
    expect((await call(server, "/list/random?season=spring&studio=bones", { token })).body.anime.id).toBe(anime[1]!.id);
  }
  expect((await call(server, "/list/random?season=winter", { token })).status).toBe(404);
  // 12 episodes of 24 minutes = 0.2 days; the anime with no duration counts 0.
  expect((await call(server, "/list/stats", { token })).body.days_watched).toBe(0.2);
}, 120_000);

test("without them (before migration 004): those filters match nothing, days_watched is 0, nothing fails", async () => {
  server = await startTestServer();
  if (await hasColumn(server, "duration_seconds")) return; // the catalogue's migration is in: covered above
  const anime = await loadFixtureCatalogue(server, 3);
  const { token } = await registerUser(server, uniqueUser("nocolumns"));
  await putEntry(server, token, anime[0]!.id, { status: "watching", episodes_watched: 12 });
  expect((await call(server, "/list/random?season=fall", { token })).status).toBe(404);
  expect((await call(server, "/list/random?studio=madhouse", { token })).status).toBe(404);
  expect((await call(server, "/list/random", { token })).status).toBe(200);
  expect((await call(server, "/list/stats", { token })).body).toMatchObject({ total: 1, episodes_watched: 12, days_watched: 0 });
}, 120_000);
