// A catalogue import that prunes keeps every anime on someone's list (API.md: "no one's list loses an
// entry to a catalogue update"), and its report says how many it kept for that reason.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importCatalogue } from "../src/anime/import/importer.ts";
import { call } from "./account-support.ts";
import { runImportCli, writeReleaseFile } from "./support/anime.ts";
import { fixtureEntries, loadFixtureCatalogue, putEntry } from "./support/list.ts";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), "lumotist-list-prune-"));
beforeAll(async () => {
  server = await startTestServer();
}, 120_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

test("a prune keeps the listed anime (kept_listed), removes the others, and lists keep every entry", async () => {
  const anime = await loadFixtureCatalogue(server, 10);
  const { token } = await registerUser(server, uniqueUser("pruned"));
  // Anime 7 and 8 are on the list and will be missing from the release; 9 is missing and unlisted.
  for (const a of [anime[0]!, anime[7]!, anime[8]!]) expect((await putEntry(server, token, a.id, { status: "watching" })).status).toBe(201);

  const report = await importCatalogue(server.running.db.sql, fixtureEntries(10).slice(0, 7), { prune: true });
  expect({ pruned: report.pruned, keptListed: report.keptListed }).toEqual({ pruned: 1, keptListed: 2 });
  const list = await call(server, "/list?sort=title", { token });
  expect(list.body.count).toBe(3);
  for (const a of [anime[7]!, anime[8]!]) expect((await call(server, `/list/${a.id}`, { token })).body.anime.title).toBe(a.title);
  const [{ gone }] = await server.running.db.sql<[{ gone: boolean }]>`select not exists (select 1 from anime where id = ${anime[9]!.id}) as gone`;
  expect(gone).toBeTrue();
  // Their MyAnimeList source stays, so the list still exports them.
  const [{ sources }] = await server.running.db.sql<[{ sources: number }]>`
    select count(*)::int as sources from anime_sources where anime_id in (${anime[7]!.id}, ${anime[8]!.id}) and url like 'https://myanimelist.net/%'`;
  expect(sources).toBe(2);

  // The command line's report prints the count.
  const file = await writeReleaseFile(join(dir, "release.json"), fixtureEntries(10).slice(0, 6));
  const run = await runImportCli(server.database, file, "--prune");
  expect(run.stdout).toMatch(/kept_listed\s+2\b/);
  expect(run.stdout).toMatch(/pruned\s+1\b/);
}, 60_000);
