// The list cache (src/list/list-cache.ts): pages and random picks answered from memory are byte for
// byte what PostgreSQL builds (the service without the cache is the oracle), and a change made behind
// the server's back (plain SQL, as another instance or a catalogue import would) is what it answers next.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { importCatalogue } from "../src/anime/import/importer.ts";
import { CATALOGUE_IMPORT_LOCK } from "../src/shared/catalogue-import-lock.ts";
import { adminUrl } from "./support/db.ts";
import { HttpError } from "../src/http/errors.ts";
import { Lists } from "../src/list/service.ts";
import { call, post } from "./account-support.ts";
import { datasetEntry } from "./support/anime.ts";
import { type FixtureAnime, fixtureEntries, loadFixtureCatalogue, putEntry } from "./support/list.ts";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

let server: TestServer;
let anime: FixtureAnime[];
let twins: number[];

const STATUSES = ["watching", "completed", "on_hold", "dropped", "plan_to_watch"];
const DATES = [null, "2024-02-29", "0050-03-04", "1969-12-31", "1970-01-01", "9999-12-31", "1999-07-15"];
const NOTES = ["", 'a "quoted" word', "line\nbreak\ttab \\ back", "日本語 😀 \u0001", "x".repeat(300)];

beforeAll(async () => {
  server = await startTestServer({ LOG_LEVEL: "warn" });
  anime = await loadFixtureCatalogue(server, 40);
  // Two anime with one title: the title sorts break their tie by anime id, both ways.
  await importCatalogue(server.running.db.sql, [...fixtureEntries(40), ...twinDatasetEntries()]);
  const rows = await server.running.db.sql<{ anime_id: number }[]>`
    select anime_id from anime_sources where url in ('https://myanimelist.net/anime/9000', 'https://myanimelist.net/anime/9001') order by anime_id`;
  twins = rows.map((row) => row.anime_id);
}, 120_000);
afterAll(async () => {
  await server?.stop();
}, 60_000);

/** A user whose list has every status, scores and none, private entries, notes to escape, equal titles and equal update times. */
async function variedList(name: string) {
  const user = await registerUser(server, uniqueUser(name));
  const ids = [...anime.slice(0, 30).map((a) => a.id), ...twins];
  for (const [i, id] of ids.entries()) {
    const answer = await putEntry(server, user.token, id, {
      status: STATUSES[i % STATUSES.length],
      score: i % 4 === 3 ? null : 1 + (i % 10),
      private: i % 6 === 5,
      notes: NOTES[i % NOTES.length],
      episodes_watched: i % 3,
      rewatches: i % 4 === 1 ? 7 : 0,
      started_on: DATES[i % DATES.length],
      finished_on: i % 2 ? null : DATES[i % DATES.length],
    });
    expect(answer.status).toBe(201);
  }
  const [{ id: userId }] = await server.running.db.sql<[{ id: number }]>`select id from users where username = ${user.username}`;
  // Ten entries updated at one instant: the update sorts break their tie by anime id, both ways.
  await server.running.db.sql`
    update list_entries set updated_at = '2026-01-02T03:04:05.678901Z' where user_id = ${userId} and anime_id = any(${ids.slice(5, 15)}::int[])`;
  // Times around 1970 and 2000 (where the times' binary form is counted from), to the microsecond.
  await server.running.db.sql`
    update list_entries set created_at = (array['1969-12-31T23:59:59.999999Z', '1970-01-01T00:00:00.000999Z', '1999-12-31T23:59:59.9995Z',
        '2000-01-01T00:00:00Z', '2000-01-01T00:00:00.000001Z']::timestamptz[])[1 + anime_id % 5]
    where user_id = ${userId} and anime_id = any(${ids.slice(15, 25)}::int[])`;
  return { ...user, userId, ids };
}

/** What the service without the cache answers: its text, or the status of the error it throws. */
async function oracle(answer: () => Promise<Uint8Array | string>): Promise<{ status: number; text: string }> {
  try {
    return { status: 200, text: text(await answer()) };
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, text: JSON.stringify(error.body) };
    throw error;
  }
}

const uncached = () => new Lists(server.running.db.sql);

/** The list cache's counters, once no list is being read whole in the background. */
async function settledCache(on: TestServer = server): Promise<{ lists: number; hits: number; fills: number; filling: number }> {
  for (let waited = 0; ; waited += 10) {
    const state = (await call(on, "/health")).body.list_cache;
    if (state.filling === 0 || waited > 5_000) return state;
    await Bun.sleep(10);
  }
}
const text = (bytes: Uint8Array | string) => (typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8"));

describe("answers from the cache are what PostgreSQL builds", () => {
  test("every sort, status filter and page of one's own list, and of the public view", async () => {
    const user = await variedList("cachepages");
    await post(server, "/account/settings", { list_public: true }, { token: user.token });
    const queries: Record<string, string>[] = [];
    for (const sort of [undefined, "-updated", "updated", "title", "-title", "score", "-score"]) {
      for (const status of [undefined, "watching", "completed,on_hold,dropped"]) {
        for (const [pageSize, page] of [[undefined, undefined], ["7", "1"], ["7", "3"], ["5", "2"], ["500", undefined]] as const) {
          const query: Record<string, string> = {};
          if (sort) query.sort = sort;
          if (status) query.status = status;
          if (pageSize) query.page_size = pageSize;
          if (page) query.page = page;
          queries.push(query);
        }
      }
    }
    let pages = 0;
    await call(server, "/list", { token: user.token });
    const before = await settledCache();
    for (const query of queries) {
      const search = new URLSearchParams(query).toString();
      const own = `/list${search ? `?${search}` : ""}`;
      const answer = await call(server, own, { token: user.token });
      expect({ status: answer.status, text: answer.text }).toEqual(await oracle(() => uncached().page(user.userId, query, server.base + own)));
      const shown = `/users/${user.username}/list${search ? `?${search}` : ""}`;
      const publicAnswer = await call(server, shown);
      expect({ status: publicAnswer.status, text: publicAnswer.text }).toEqual(
        await oracle(() => uncached().publicPage(user.username, query, server.base + shown)),
      );
      pages += answer.status === 200 ? 1 : 0;
    }
    expect(pages).toBeGreaterThan(80);
    // The list was read whole once before: every page (a page past the last is a 404) came from memory, the oracle's from PostgreSQL.
    expect((await settledCache()).hits - before.hits).toBe(2 * pages);
    // The whole list in one page: both sorts by title put the twins in anime id order.
    for (const sort of ["title", "-title"]) {
      const ids = (await call(server, `/list?sort=${sort}&page_size=500`, { token: user.token })).body.results.map((e: any) => e.anime.id);
      expect(ids.filter((id: number) => twins.includes(id))).toEqual(twins);
    }
    // Past the last page: 404, as without the cache.
    expect((await call(server, "/list?page=99", { token: user.token })).body).toEqual({ detail: "Invalid page." });
  }, 60_000);

  test("random picks: only entries that match, each entry's JSON as GET /list/{id} writes it", async () => {
    const user = await variedList("cacherandom");
    const none = await call(server, "/list/random?status=dropped&type=movie&year_from=2100", { token: user.token });
    expect(none.body).toEqual({ detail: "Not found." });
    for (const query of ["", "?status=watching", "?status=dropped,on_hold&type=ova,tv", "?year_from=2003&year_to=2004"]) {
      const expected = await oracle(() => uncached().random(user.userId, Object.fromEntries(new URLSearchParams(query))));
      expect(expected.status).toBe(200);
      for (let i = 0; i < 15; i++) {
        const answer = await call(server, `/list/random${query}`, { token: user.token });
        expect(answer.status).toBe(200);
        const one = await call(server, `/list/${answer.body.anime.id}`, { token: user.token });
        expect(answer.text).toBe(one.text);
        if (query.includes("status=watching")) expect(answer.body.status).toBe("watching");
        if (query.includes("type=ova")) expect(["OVA", "TV"]).toContain(answer.body.anime.anime_type);
        if (query.includes("year_from")) expect([2003, 2004]).toContain(answer.body.anime.year);
      }
    }
  }, 60_000);
});

describe("the cache answers", () => {
  test("a list read once is answered from memory next (/health counts), and read again after a write", async () => {
    const user = await variedList("cachehits");
    const state = async () => (await call(server, "/health")).body.list_cache;
    await call(server, "/list", { token: user.token });
    const before = await settledCache();
    expect(before.lists).toBeGreaterThan(0);
    for (const path of ["/list?sort=title", "/list?status=watching", "/list/random", "/list/random?type=tv,ova"]) {
      expect((await call(server, path, { token: user.token })).status).toBe(200);
    }
    const after = await state();
    expect({ hits: after.hits - before.hits, fills: after.fills - before.fills }).toEqual({ hits: 4, fills: 0 });
    await putEntry(server, user.token, anime[39]!.id, { status: "watching" });
    // The copy is stale: this answer comes from PostgreSQL, and the list is read again in the background.
    await call(server, "/list", { token: user.token });
    const refilled = await settledCache();
    expect({ hits: refilled.hits - after.hits, fills: refilled.fills - after.fills }).toEqual({ hits: 0, fills: 1 });
    await call(server, "/list", { token: user.token });
    expect((await state()).hits - refilled.hits).toBe(1);
  });
});

describe("the texts of the entries a page shows are written then, and counted", () => {
  test("a list read whole counts its notes; the entries pages show add their texts to /health's bytes", async () => {
    const user = await variedList("cachebytes");
    const bytes = async () => (await call(server, "/health")).body.list_cache.bytes;
    await call(server, "/list?page_size=2", { token: user.token }); // from PostgreSQL; the list is read whole meanwhile
    await settledCache();
    const read = await bytes();
    const firstPage = await call(server, "/list?page_size=2", { token: user.token });
    const shownTwo = await bytes();
    // Its texts' first buffer (room for a page of its 32 entries) and the anime objects of the page.
    expect(shownTwo - read).toBeGreaterThan(32 * 200);
    const all = await call(server, "/list?page_size=500", { token: user.token });
    expect(all.body.results).toHaveLength(user.ids.length);
    expect(all.body.results.slice(0, 2)).toEqual(firstPage.body.results);
    const shownAll = await bytes();
    expect(shownAll).toBeGreaterThan(shownTwo); // every entry's text now: the buffer grew, and 30 more anime objects
    const again = await call(server, "/list?page_size=500", { token: user.token });
    expect(again.text).toBe(all.text);
    expect(await bytes()).toBe(shownAll);
  });
});

describe("a change made behind the server's back is what it answers next", () => {
  test("entries inserted, updated and deleted with plain SQL", async () => {
    const user = await variedList("cachesql");
    const sql = server.running.db.sql;
    const first = await call(server, "/list?sort=score&page_size=500", { token: user.token });
    expect(first.body.count).toBe(user.ids.length);

    await sql`update list_entries set score = 10, notes = 'changed elsewhere' where user_id = ${user.userId} and anime_id = ${user.ids[0]!}`;
    const updated = await call(server, "/list?sort=-score&page_size=1", { token: user.token });
    expect(updated.body.results[0]).toMatchObject({ anime: { id: user.ids[0] }, score: 10, notes: "changed elsewhere" });

    await sql`delete from list_entries where user_id = ${user.userId} and anime_id = ${user.ids[1]!}`;
    const afterDelete = await call(server, "/list?page_size=500", { token: user.token });
    expect(afterDelete.body.count).toBe(user.ids.length - 1);
    expect(afterDelete.body.results.map((e: any) => e.anime.id)).not.toContain(user.ids[1]);

    await sql`
      insert into list_entries (user_id, anime_id, status, score) values (${user.userId}, ${anime[35]!.id}, 'watching', 7)`;
    const afterInsert = await call(server, "/list?page_size=500", { token: user.token });
    expect(afterInsert.body.count).toBe(user.ids.length);
    expect(afterInsert.body.results.map((e: any) => e.anime.id)).toContain(anime[35]!.id);

    // The random pick: after every entry leaves "watching", none is watching.
    expect((await call(server, "/list/random?status=watching", { token: user.token })).status).toBe(200);
    await sql`update list_entries set status = 'dropped' where user_id = ${user.userId}`;
    expect((await call(server, "/list/random?status=watching", { token: user.token })).status).toBe(404);
    expect((await call(server, "/list/random?status=watching&type=tv", { token: user.token })).status).toBe(404);
    expect((await call(server, "/list?status=watching", { token: user.token })).body.count).toBe(0);
  });

  test("a list read whole, then changed before its first title-sorted page: that page shows the change", async () => {
    const user = await variedList("cachetitlelater");
    await call(server, "/list", { token: user.token });
    await settledCache();
    await server.running.db.sql`
      insert into list_entries (user_id, anime_id, status) values (${user.userId}, ${anime[36]!.id}, 'watching')`;
    for (const path of ["/list?sort=title&page_size=500", "/list?sort=-title&page_size=500"]) {
      const answer = await call(server, path, { token: user.token });
      expect(answer.body.results.map((e: any) => e.anime.id)).toContain(anime[36]!.id);
      const query = Object.fromEntries(new URL(server.base + path).searchParams);
      expect({ status: answer.status, text: answer.text }).toEqual(await oracle(() => uncached().page(user.userId, query, server.base + path)));
    }
  });

  test("a public view follows plain-SQL changes to the entries and to list_public", async () => {
    const user = await variedList("cachepublic");
    const sql = server.running.db.sql;
    const path = `/users/${user.username}/list?page_size=500`;
    await post(server, "/account/settings", { list_public: true }, { token: user.token });
    const before = (await call(server, path)).body.count;
    await sql`update list_entries set private = true where user_id = ${user.userId} and anime_id = ${user.ids[0]!}`;
    expect((await call(server, path)).body.count).toBe(before - 1);
    await sql`update users set list_public = false where id = ${user.userId}`;
    expect((await call(server, path)).status).toBe(404);
  });

  test("a catalogue import that changes an anime: lists show the new anime object at once, in the new title order", async () => {
    const { token } = await registerUser(server, uniqueUser("cachecatalogue"));
    for (const a of anime.slice(0, 3)) await putEntry(server, token, a.id, { status: "watching" });
    const before = await call(server, "/list?sort=title", { token });
    expect(before.body.results.map((e: any) => e.anime.id)).toEqual(
      [...anime.slice(0, 3)].sort((x, y) => (x.title < y.title ? -1 : 1)).map((a) => a.id),
    );
    // The release renames the first anime so that it sorts first, and gives it a tag.
    const entries = fixtureEntries(40);
    entries[0] = { ...entries[0]!, title: "0 Renamed first", tags: ["renamed"] };
    await importCatalogue(server.running.db.sql, [...entries, ...twinDatasetEntries()]);
    const after = await call(server, "/list?sort=title", { token });
    expect(after.body.results[0].anime).toMatchObject({ id: anime[0]!.id, title: "0 Renamed first", tags: ["Renamed"] });
    const one = await call(server, `/list/${anime[0]!.id}`, { token });
    expect(JSON.stringify(after.body.results[0])).toBe(JSON.stringify(one.body));
    const random = await call(server, "/list/random?tags=renamed", { token });
    expect(random.body.anime.title).toBe("0 Renamed first");
    // Put the catalogue back for the other tests.
    await importCatalogue(server.running.db.sql, [...fixtureEntries(40), ...twinDatasetEntries()]);
  });
});

describe("lists the cache does not hold are answered from PostgreSQL", () => {
  const handSet = [
    ["an infinite date", "started_on = 'infinity', finished_on = null"],
    ["a time in 1500 (its microseconds beyond a double's exact range)", "created_at = '1500-06-24T12:00:00.999999Z'"],
    ["an infinite time", "updated_at = 'infinity'"],
  ];
  for (const [what, assignment] of handSet) {
    test(`a value set by hand that JavaScript would write otherwise (${what}): 200, as PostgreSQL writes it`, async () => {
      const user = await variedList("cachehandset");
      await server.running.db.sql.unsafe(`update list_entries set ${assignment} where user_id = $1 and anime_id = $2`, [user.userId, user.ids[0]!]);
      for (const path of ["/list?page_size=500", "/list?sort=title&page_size=500"]) {
        const answer = await call(server, path, { token: user.token });
        const query = Object.fromEntries(new URL(server.base + path).searchParams);
        expect({ status: answer.status, text: answer.text }).toEqual(await oracle(() => uncached().page(user.userId, query, server.base + path)));
      }
      expect((await call(server, "/list/random", { token: user.token })).status).toBe(200);
    });
  }

  test("a list larger than its share of LIST_CACHE_MB: right answers, read whole once, not held", async () => {
    const small = await startTestServer({ LOG_LEVEL: "warn", LIST_CACHE_MB: "1" });
    try {
      const fixture = await loadFixtureCatalogue(small, 40);
      const { token, username } = await registerUser(small, uniqueUser("cachelarge"));
      // 40 entries with 2,000-character notes: ~80 KB, over a 1 MiB budget's share (48 KiB).
      for (const a of fixture) expect((await putEntry(small, token, a.id, { status: "watching", notes: "n".repeat(2000) })).status).toBe(201);
      const [{ id: userId }] = await small.running.db.sql<[{ id: number }]>`select id from users where username = ${username}`;
      const state = async () => (await call(small, "/health")).body.list_cache;
      const before = await state();
      for (const path of ["/list?page_size=7&page=2", "/list?sort=-title", "/list"]) {
        const answer = await call(small, path, { token });
        const query = Object.fromEntries(new URL(small.base + path).searchParams);
        expect({ status: answer.status, text: answer.text }).toEqual(
          await oracle(() => new Lists(small.running.db.sql).page(userId, query, small.base + path)),
        );
      }
      expect((await call(small, "/list/random", { token })).status).toBe(200);
      const after = await settledCache(small);
      expect({ lists: after.lists, fills: after.fills - before.fills, hits: after.hits - before.hits }).toEqual({ lists: 0, fills: 1, hits: 0 });
    } finally {
      await small.stop();
    }
  }, 60_000);
});

describe("writes that race", () => {
  test("imports and entry writes of one user at once: each is done or refused, never a 5xx, and the list stays whole", async () => {
    const { token } = await registerUser(server, uniqueUser("cacherace"));
    const ids = anime.slice(0, 12).map((a) => a.id);
    const exportWithScore = async (score: number) => {
      for (const id of ids) await putEntry(server, token, id, { status: "watching", score });
      return (await call(server, "/list/export", { token })).text;
    };
    const files = [await exportWithScore(5), await exportWithScore(6)];
    for (let round = 0; round < 3; round++) {
      const writes = [
        ...files.map((xml) => call(server, "/list/import?mode=merge", { method: "POST", token, body: xml, headers: { "content-type": "application/xml" } })),
        // Each import locks the user's row, then the entries; each write the entry, then the user's row.
        ...ids.flatMap((id, k) => [putEntry(server, token, id, { status: "completed", score: 1 + ((k + round) % 10) })]),
        ...ids.map((id) => call(server, `/list/${id}`, { method: "PATCH", token, json: { notes: `round ${round}` } })),
      ];
      for (const answer of await Promise.all(writes)) expect(answer.status).toBeLessThan(300);
    }
    const list = await call(server, "/list?page_size=500", { token });
    expect(list.body.count).toBe(ids.length);
  }, 60_000);
});

describe.skipIf(!adminUrl)("a list import and a catalogue import", () => {
  test("a list import waits for a catalogue import under way (no deadlock between them), then completes", async () => {
    const { token } = await registerUser(server, uniqueUser("cachelock"));
    for (const a of anime.slice(0, 3)) await putEntry(server, token, a.id, { status: "watching", score: 4 });
    const xml = (await call(server, "/list/export", { token })).text;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const catalogueImport = server.running.db.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${CATALOGUE_IMPORT_LOCK})`;
      locked();
      await held;
    });
    await lockTaken;
    let finished = false;
    const listImport = call(server, "/list/import?mode=replace", { method: "POST", token, body: xml, headers: { "content-type": "application/xml" } }).then(
      (answer) => ((finished = true), answer),
    );
    await Bun.sleep(300);
    expect(finished).toBeFalse();
    release();
    await catalogueImport;
    const answer = await listImport;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ success: true, unchanged: 3 });
  });
});

function twinDatasetEntries() {
  return [0, 1].map((k) =>
    datasetEntry({ title: "Twin Title", sources: [`https://myanimelist.net/anime/${9000 + k}`], type: "TV", episodes: 3, status: "FINISHED", tags: [] }),
  );
}
