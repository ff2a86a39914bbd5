// The list (API.md Part 2, "The list" and "Public lists") over HTTP: entries, validation, pages and
// sorts, stats, the random pick, settings, public views, the 10,000-entry cap under concurrency, and
// the list going with a deleted account.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, post } from "./account-support.ts";
import { type FixtureAnime, getList, loadFixtureCatalogue, patchEntry, putEntry } from "./support/list.ts";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

let server: TestServer;
let anime: FixtureAnime[];

beforeAll(async () => {
  server = await startTestServer();
  anime = await loadFixtureCatalogue(server, 40);
}, 120_000);
afterAll(() => server?.stop(), 60_000);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ENTRY_KEYS = ["anime", "status", "episodes_watched", "score", "rewatches", "private", "started_on", "finished_on", "notes", "created", "updated"];
const newUser = () => registerUser(server, uniqueUser("lister"));
const animeBody = async (id: number) => (await call(server, `/anime/entry/${id}`)).body;
const withEpisodes = (n: number) => anime.find((a) => a.episodes === n)!;

describe("one entry", () => {
  test("PUT creates (201) the contract's entry, with the anime object as the catalogue serves it", async () => {
    const { token } = await newUser();
    const a = anime[0]!;
    const created = await putEntry(server, token, a.id, { status: "watching", episodes_watched: 3, score: 8, started_on: "2024-01-05" });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body)).toEqual(ENTRY_KEYS);
    expect(created.body).toMatchObject({
      anime: await animeBody(a.id),
      status: "watching",
      episodes_watched: 3,
      score: 8,
      rewatches: 0,
      private: false,
      started_on: "2024-01-05",
      finished_on: null,
      notes: "",
    });
    expect(created.body.anime).toEqual(await animeBody(a.id));
    expect(created.body.created).toMatch(ISO);
    expect(created.body.updated).toMatch(ISO);
    expect(created.headers.get("cache-control")).toBe("no-store");

    const read = await call(server, `/list/${a.id}`, { token });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
  });

  test("PUT on an existing entry replaces it (200): absent fields take their defaults, created stays", async () => {
    const { token } = await newUser();
    const a = anime[1]!;
    const first = await putEntry(server, token, a.id, { status: "watching", score: 7, notes: "hi", private: true, rewatches: 2 });
    const second = await putEntry(server, token, a.id, { status: "on_hold" });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: "on_hold", score: null, notes: "", private: false, rewatches: 0, episodes_watched: 0 });
    expect(second.body.created).toBe(first.body.created);
    expect(second.body.updated >= first.body.updated).toBeTrue();
  });

  test("completed without episodes_watched becomes num_episodes (PUT and PATCH)", async () => {
    const { token } = await newUser();
    const a = withEpisodes(13);
    expect((await putEntry(server, token, a.id, { status: "completed" })).body.episodes_watched).toBe(13);
    const b = withEpisodes(12);
    await putEntry(server, token, b.id, { status: "watching", episodes_watched: 2 });
    expect((await patchEntry(server, token, b.id, { status: "completed" })).body.episodes_watched).toBe(12);
    expect((await patchEntry(server, token, b.id, { status: "completed", episodes_watched: 5 })).body.episodes_watched).toBe(5);
  });

  test("PATCH changes only the given fields; null clears score and dates", async () => {
    const { token } = await newUser();
    const a = anime[2]!;
    await putEntry(server, token, a.id, { status: "watching", score: 6, started_on: "2024-01-01", notes: "keep" });
    const patched = await patchEntry(server, token, a.id, { episodes_watched: 4, private: true });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ status: "watching", score: 6, started_on: "2024-01-01", notes: "keep", episodes_watched: 4, private: true });
    const cleared = await patchEntry(server, token, a.id, { score: null, started_on: null });
    expect(cleared.body).toMatchObject({ score: null, started_on: null, notes: "keep" });
  });

  test("DELETE removes the entry; then GET, PATCH and DELETE are 404", async () => {
    const { token } = await newUser();
    const a = anime[3]!;
    await putEntry(server, token, a.id, { status: "dropped" });
    expect((await call(server, `/list/${a.id}`, { method: "DELETE", token })).body).toEqual({ success: true });
    for (const method of ["GET", "DELETE"]) {
      const answer = await call(server, `/list/${a.id}`, { method, token });
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 404, body: { detail: "Not found." } });
    }
    expect((await patchEntry(server, token, a.id, { score: 3 })).status).toBe(404);
  });

  test("an anime the catalogue does not have, or an id that is not one: 404 for every method", async () => {
    const { token } = await newUser();
    for (const id of ["999999", "0", "-1", "abc", "1.5", "99999999999", "2147483648"]) {
      expect((await putEntry(server, token, id, { status: "watching" })).status, `PUT ${id}`).toBe(404);
      expect((await patchEntry(server, token, id, { status: "watching" })).status, `PATCH ${id}`).toBe(404);
      expect((await call(server, `/list/${id}`, { token })).status, `GET ${id}`).toBe(404);
      expect((await call(server, `/list/${id}`, { method: "DELETE", token })).status, `DELETE ${id}`).toBe(404);
    }
    // Invalid fields on an unknown anime: still 404.
    expect((await putEntry(server, token, 999999, { status: "watching", started_on: "2024-02-30" })).status).toBe(404);
  });

  test("a browser on another origin may PUT and PATCH (CORS preflight)", async () => {
    const response = await server.request(`/list/${anime[0]!.id}`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "PATCH" },
    });
    expect(response.status).toBe(204);
    for (const method of ["PUT", "PATCH", "DELETE"]) expect(response.headers.get("access-control-allow-methods")).toContain(method);
  });

  test("every list route needs a token", async () => {
    for (const [method, path] of [["GET", "/list"], ["GET", "/list/random"], ["GET", "/list/stats"], ["GET", "/list/1"], ["PUT", "/list/1"], ["PATCH", "/list/1"], ["DELETE", "/list/1"], ["POST", "/list/import"], ["GET", "/list/export"], ["GET", "/account/settings"], ["POST", "/account/settings"]] as const) {
      const answer = await call(server, path, { method });
      expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 401, body: { detail: "Authentication credentials were not provided." } });
    }
  });
});

describe("validation", () => {
  const failure = (errors: Record<string, string[]>) => ({ status: 400, body: { success: false, errors } });

  test.each([
    [{}, { status: ["This field is required."] }],
    [{ status: "watched" }, { status: ['"watched" is not a valid choice.'] }],
    [{ status: null }, { status: ["This field may not be null."] }],
    [{ status: "watching", score: 11 }, { score: ["Ensure this value is less than or equal to 10."] }],
    [{ status: "watching", score: 0 }, { score: ["Ensure this value is greater than or equal to 1."] }],
    [{ status: "watching", score: "good" }, { score: ["A valid integer is required."] }],
    [{ status: "watching", score: 7.5 }, { score: ["A valid integer is required."] }],
    [{ status: "watching", episodes_watched: -1 }, { episodes_watched: ["Ensure this value is greater than or equal to 0."] }],
    [{ status: "watching", episodes_watched: 13 }, { episodes_watched: ["Ensure this value is less than or equal to 12."] }],
    [{ status: "watching", rewatches: 1001 }, { rewatches: ["Ensure this value is less than or equal to 1000."] }],
    [{ status: "watching", private: "yes" }, { private: ["Must be a valid boolean."] }],
    [{ status: "watching", notes: 5 }, { notes: ["Not a valid string."] }],
    [{ status: "watching", notes: "x".repeat(2001) }, { notes: ["Ensure this field has no more than 2000 characters."] }],
    [{ status: "watching", notes: "a\u0000b" }, { notes: ["Null characters are not allowed."] }],
    [{ status: "watching", started_on: "05/01/2024" }, { started_on: ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."] }],
    [{ status: "watching", started_on: "2023-02-29" }, { started_on: ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."] }],
    [{ status: "watching", finished_on: "0000-01-01" }, { finished_on: ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."] }],
    [{ status: "watching", started_on: "2024-02-02", finished_on: "2024-02-01" }, { finished_on: ["Ensure this date is not before started_on."] }],
  ])("PUT %j → %j", async (body, errors) => {
    const { token } = await newUser();
    const a = withEpisodes(12);
    const answer = await putEntry(server, token, a.id, body);
    expect({ status: answer.status, body: answer.body }).toEqual(failure(errors));
    expect((await call(server, `/list/${a.id}`, { token })).status).toBe(404); // nothing written
  });

  test("valid edge values are accepted: 2000 characters of notes (any script), leap day, same-day dates", async () => {
    const { token } = await newUser();
    const answer = await putEntry(server, token, anime[5]!.id, {
      status: "completed",
      notes: "𠮷".repeat(2000),
      started_on: "2024-02-29",
      finished_on: "2024-02-29",
      score: 10,
      rewatches: 1000,
    });
    expect(answer.status).toBe(201);
    expect([...answer.body.notes].length).toBe(2000);
  });

  test("PATCH checks the merged entry: finished_on before the stored started_on, episodes past num_episodes", async () => {
    const { token } = await newUser();
    const a = withEpisodes(12);
    await putEntry(server, token, a.id, { status: "watching", started_on: "2024-03-01" });
    expect((await patchEntry(server, token, a.id, { finished_on: "2024-02-01" })).body).toEqual({
      success: false,
      errors: { finished_on: ["Ensure this date is not before started_on."] },
    });
    expect((await patchEntry(server, token, a.id, { episodes_watched: 99 })).body).toEqual({
      success: false,
      errors: { episodes_watched: ["Ensure this value is less than or equal to 12."] },
    });
    expect((await patchEntry(server, token, a.id, { score: 20 })).body).toEqual({
      success: false,
      errors: { score: ["Ensure this value is less than or equal to 10."] },
    });
  });

  test("an anime with unknown episodes (0) takes any count", async () => {
    const { token } = await newUser();
    expect((await putEntry(server, token, withEpisodes(0).id, { status: "watching", episodes_watched: 500 })).status).toBe(201);
  });

  test("a body that is not a JSON object: the contract's detail", async () => {
    const { token } = await newUser();
    const answer = await call(server, `/list/${anime[0]!.id}`, { method: "PUT", token, body: "[1,2]", headers: { "content-type": "application/json" } });
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 400, body: { detail: "Expected a JSON object." } });
  });

  test("PostgreSQL enforces the rules too", async () => {
    const { id } = await newUser();
    const sql = server.running.db.sql;
    const a = anime[6]!.id;
    const bad = [
      sql`insert into list_entries (user_id, anime_id, status) values (${id}, ${a}, 'watched')`,
      sql`insert into list_entries (user_id, anime_id, status, score) values (${id}, ${a}, 'watching', 11)`,
      sql`insert into list_entries (user_id, anime_id, status, episodes_watched) values (${id}, ${a}, 'watching', -1)`,
      sql`insert into list_entries (user_id, anime_id, status, rewatches) values (${id}, ${a}, 'watching', 1001)`,
      sql`insert into list_entries (user_id, anime_id, status, notes) values (${id}, ${a}, 'watching', ${"x".repeat(2001)})`,
      sql`insert into list_entries (user_id, anime_id, status, started_on, finished_on) values (${id}, ${a}, 'watching', '2024-02-02', '2024-02-01')`,
      sql`insert into list_entries (user_id, anime_id, status) values (${id}, 987654321, 'watching')`,
    ];
    for (const statement of bad) expect(statement.then(() => "written")).rejects.toBeDefined();
    await sql`insert into list_entries (user_id, anime_id, status) values (${id}, ${a}, 'watching')`;
    expect(sql`insert into list_entries (user_id, anime_id, status) values (${id}, ${a}, 'watching')`.then(() => "written")).rejects.toBeDefined();
  });
});

describe("GET /list: pages, sorts and the status filter", () => {
  let token: string;
  const chosen = () => anime.slice(0, 25);
  beforeAll(async () => {
    ({ token } = await newUser());
    const statuses = ["watching", "completed", "on_hold", "dropped", "plan_to_watch"];
    for (const [i, a] of chosen().entries()) {
      await putEntry(server, token, a.id, { status: statuses[i % 5], score: i % 4 === 0 ? null : (i % 10) + 1, episodes_watched: 0 });
      await Bun.sleep(2); // distinct update times: the embedded database's clock counts whole milliseconds
    }
  }, 60_000);
  const ids = (answer: { body: { results: { anime: { id: number } }[] } }) => answer.body.results.map((entry) => entry.anime.id);

  test("-updated by default: the latest change first", async () => {
    const answer = await getList(server, token, "?page_size=500");
    expect(answer.body.count).toBe(25);
    expect(ids(answer)).toEqual(chosen().map((a) => a.id).reverse());
    await patchEntry(server, token, chosen()[3]!.id, { rewatches: 1 });
    expect(ids(await getList(server, token))[0]).toBe(chosen()[3]!.id);
  });

  test("title and -title by code point (upper case before lower case), ties by id", async () => {
    const byTitle = [...chosen()].sort((x, y) => (x.title < y.title ? -1 : x.title > y.title ? 1 : x.id - y.id)).map((a) => a.id);
    expect(ids(await getList(server, token, "?sort=title"))).toEqual(byTitle);
    expect(ids(await getList(server, token, "?sort=-title"))).toEqual([...byTitle].reverse());
  });

  test("score and -score: ties by id, no score last both ways", async () => {
    const entries = (await getList(server, token, "?page_size=500")).body.results as { anime: { id: number }; score: number | null }[];
    const scored = entries.filter((e) => e.score !== null);
    const unscored = entries.filter((e) => e.score === null).map((e) => e.anime.id).sort((a, b) => a - b);
    const ascending = [...scored].sort((x, y) => x.score! - y.score! || x.anime.id - y.anime.id).map((e) => e.anime.id);
    const descending = [...scored].sort((x, y) => y.score! - x.score! || x.anime.id - y.anime.id).map((e) => e.anime.id);
    expect(ids(await getList(server, token, "?sort=score"))).toEqual([...ascending, ...unscored]);
    expect(ids(await getList(server, token, "?sort=-score"))).toEqual([...descending, ...unscored]);
  });

  test("pages: next/previous repeat the parameters; past the last page 404 Invalid page.", async () => {
    const first = await getList(server, token, "?sort=title&page_size=10");
    expect(first.body.count).toBe(25);
    expect(first.body.results).toHaveLength(10);
    expect(first.body.previous).toBeNull();
    const next = new URL(first.body.next);
    expect(next.searchParams.get("sort")).toBe("title");
    expect(next.searchParams.get("page")).toBe("2");
    const third = await getList(server, token, "?sort=title&page_size=10&page=3");
    expect(third.body.results).toHaveLength(5);
    expect(third.body.next).toBeNull();
    expect(new URL(third.body.previous).searchParams.get("page")).toBe("2");
    const all = [...ids(first), ...ids(await getList(server, token, "?sort=title&page_size=10&page=2")), ...ids(third)];
    expect(new Set(all).size).toBe(25);
    for (const page of ["4", "0", "-1", "x", "999999999", "99999999999999"]) {
      const answer = await getList(server, token, `?page=${page}&page_size=10`);
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 404, body: { detail: "Invalid page." } });
    }
  });

  test("status filter: comma list, any case", async () => {
    const answer = await getList(server, token, "?status=watching,ON_HOLD&page_size=500");
    expect(answer.body.count).toBe(10);
    expect(new Set(answer.body.results.map((e: { status: string }) => e.status))).toEqual(new Set(["watching", "on_hold"]));
  });

  test("bad parameters: every bad field at once, bare", async () => {
    const answer = await getList(server, token, "?status=watched&sort=year&page_size=501");
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 400,
      body: {
        status: ['"watched" is not a valid choice.'],
        sort: ['"year" is not a valid choice.'],
        page_size: ["Ensure this value is less than or equal to 500."],
      },
    });
    expect((await getList(server, token, "?page_size=0")).body).toEqual({ page_size: ["Ensure this value is greater than or equal to 1."] });
    expect((await getList(server, token, "?status=")).body).toEqual({ status: ["This field may not be blank."] });
  });

  test("an empty list is a page of nothing", async () => {
    const { token: other } = await newUser();
    expect((await getList(server, other)).body).toEqual({ count: 0, next: null, previous: null, results: [] });
  });
});

describe("GET /list/stats", () => {
  test("totals, every status, mean score to 2 decimals (null with no score)", async () => {
    const { token } = await newUser();
    const empty = await call(server, "/list/stats", { token });
    expect(empty.body).toEqual({
      total: 0,
      by_status: { watching: 0, completed: 0, on_hold: 0, dropped: 0, plan_to_watch: 0 },
      episodes_watched: 0,
      mean_score: null,
      days_watched: 0,
    });
    await putEntry(server, token, anime[0]!.id, { status: "watching", episodes_watched: 3, score: 8 });
    await putEntry(server, token, anime[1]!.id, { status: "completed", episodes_watched: 10, score: 7 });
    await putEntry(server, token, anime[2]!.id, { status: "completed", episodes_watched: 2, score: 7 });
    await putEntry(server, token, anime[3]!.id, { status: "dropped", episodes_watched: 1 });
    const stats = (await call(server, "/list/stats", { token })).body;
    expect(stats).toMatchObject({
      total: 4,
      by_status: { watching: 1, completed: 2, on_hold: 0, dropped: 1, plan_to_watch: 0 },
      episodes_watched: 16,
      mean_score: 7.33,
    });
    expect(typeof stats.days_watched).toBe("number");
  });
});

describe("GET /list/random", () => {
  test("draws every matching entry, roughly uniformly", async () => {
    const { token } = await newUser();
    const picked = anime.slice(0, 4);
    for (const a of picked) await putEntry(server, token, a.id, { status: "plan_to_watch" });
    await putEntry(server, token, anime[4]!.id, { status: "completed" });
    const counts = new Map<number, number>();
    const draws = 400;
    for (let i = 0; i < draws; i++) {
      const answer = await call(server, "/list/random?status=plan_to_watch", { token });
      expect(answer.status).toBe(200);
      counts.set(answer.body.anime.id, (counts.get(answer.body.anime.id) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(picked.map((a) => a.id).sort());
    // Each of 4 has expectation 100, standard deviation ~8.7: 50..150 fails only if the draw is broken.
    for (const n of counts.values()) expect(n).toBeGreaterThan(50);
    for (const n of counts.values()) expect(n).toBeLessThan(150);
  });

  test("anime filters: type, anime_status, years, episodes, tags (any case), exclude_tags; 404 when none matches", async () => {
    const { token } = await newUser();
    for (const a of anime) await putEntry(server, token, a.id, { status: "watching" });
    const drawAll = async (query: string) => {
      const seen = new Set<number>();
      for (let i = 0; i < 60; i++) {
        const answer = await call(server, `/list/random?${query}`, { token });
        if (answer.status === 404) return answer;
        expect(answer.status).toBe(200);
        seen.add(answer.body.anime.id);
      }
      return seen;
    };
    const expectOnly = async (query: string, match: (a: FixtureAnime) => boolean) => {
      const seen = await drawAll(query);
      expect(seen instanceof Set, query).toBeTrue();
      const allowed = new Set(anime.filter(match).map((a) => a.id));
      expect(allowed.size).toBeGreaterThan(0);
      for (const id of seen as Set<number>) expect(allowed.has(id), `${query}: ${id}`).toBeTrue();
    };
    await expectOnly("type=movie", (a) => a.type === "MOVIE");
    await expectOnly("anime_status=Ongoing", (a) => a.status === "ONGOING");
    await expectOnly("year_from=2005&year_to=2006", (a) => a.year !== undefined && a.year >= 2005 && a.year <= 2006);
    await expectOnly("episodes_min=13&episodes_max=13", (a) => a.episodes === 13);
    await expectOnly("tags=ACTION,comedy", (a) => a.tags.includes("action") && a.tags.includes("comedy"));
    await expectOnly("exclude_tags=action&tags=comedy", (a) => !a.tags.includes("action") && a.tags.includes("comedy"));
    const none = await drawAll("status=dropped");
    expect({ status: (none as { status: number }).status, body: (none as { body: unknown }).body }).toEqual({ status: 404, body: { detail: "Not found." } });
    const bad = await call(server, "/list/random?type=Film&year_from=abc&status=done", { token });
    expect({ status: bad.status, body: bad.body }).toEqual({
      status: 400,
      body: { type: ['"Film" is not a valid choice.'], year_from: ["A valid integer is required."], status: ['"done" is not a valid choice.'] },
    });
  });
});

describe("what the database keeps and writes for the list", () => {
  test("an entry's text is JSON.stringify's: notes with quotes, backslashes, control characters and any script; times as toISOString", async () => {
    const { token } = await newUser();
    const notes = 'say "hi" \\ \n\t\r\b\f \u0001\u001f \u007f \u2028 é 😀 𠮷 </script>';
    const a = anime[2]!;
    const written = await putEntry(server, token, a.id, { status: "completed", notes, score: 9, started_on: "2024-01-05", finished_on: "2024-02-29", private: true });
    expect(written.body.notes).toBe(notes);
    const page = await getList(server, token);
    const texts = [written.text, (await call(server, `/list/${a.id}`, { token })).text, (await call(server, "/list/random", { token })).text, page.text];
    for (const text of texts) expect(text).toBe(JSON.stringify(JSON.parse(text)));
    expect(page.body.results[0]).toEqual(written.body);
    expect(written.body.created).toMatch(ISO);
  });

  test("sort=title follows the catalogue: a changed title moves the entry; entries written with SQL sort too", async () => {
    const { id, token } = await newUser();
    const sql = server.running.db.sql;
    const [{ base }] = await sql<[{ base: number }]>`select coalesce(max(id), 0)::int + 1 as base from anime`;
    await sql`
      insert into anime (id, title, source, anime_type, num_episodes, status, year, picture, tags, body)
      select ${base} + g, t.title, 'https://example.com/order/' || g, 'TV', 12, 'Finished', 2000, 'https://example.com/p.jpg', '{}',
             json_build_object('id', ${base} + g, 'title', t.title)::text
      from unnest(array['Order b', 'Order C', 'Order a']) with ordinality as t(title, g)`;
    const [b, c, first] = [base + 1, base + 2, base + 3];
    await sql`insert into list_entries (user_id, anime_id, status) values (${id}, ${b}, 'watching'), (${id}, ${c}, 'watching')`;
    expect((await putEntry(server, token, first, { status: "watching" })).status).toBe(201);
    const byTitle = async (sort: string) => (await getList(server, token, `?sort=${sort}`)).body.results.map((e: { anime: { id: number } }) => e.anime.id);
    expect(await byTitle("title")).toEqual([c, first, b]); // code points: "C" < "a" < "b"
    // As an import changes a title: with catalogue_state.version bumped in the same transaction (the
    // version every cache of anime answers, the list cache's included, is checked against).
    await sql.begin(async (tx) => {
      await tx`update anime set title = 'Order d' where id = ${first}`;
      await tx`update catalogue_state set version = version + 1`;
    });
    expect(await byTitle("title")).toEqual([c, b, first]);
    expect(await byTitle("-title")).toEqual([first, b, c]);
    await sql`delete from list_entries where user_id = ${id}`;
    await sql`delete from anime where id >= ${base}`;
  });

  test("the random pick with anime filters: uniform over the entries that pass, whether many or few pass", async () => {
    const { token } = await newUser();
    for (const a of anime) await putEntry(server, token, a.id, { status: "watching" });
    const draws = async (query: string, n: number) => {
      const counts = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const answer = await call(server, `/list/random${query}`, { token });
        expect(answer.status).toBe(200);
        counts.set(answer.body.anime.id, (counts.get(answer.body.anime.id) ?? 0) + 1);
      }
      return counts;
    };
    // Many pass: each of the k passing entries is expected n/k times; 5 standard deviations either way
    // fail only if the draw is broken.
    const expectUniform = (counts: Map<number, number>, passing: FixtureAnime[], n: number) => {
      expect([...counts.keys()].sort()).toEqual(passing.map((a) => a.id).sort());
      const p = 1 / passing.length;
      const sd = Math.sqrt(n * p * (1 - p));
      for (const count of counts.values()) expect(Math.abs(count - n * p)).toBeLessThan(5 * sd);
    };
    const tv = anime.filter((a) => a.type === "TV");
    expectUniform(await draws("?type=tv", 400), tv, 400);
    expectUniform(await draws("", 400), anime, 400);
    // Few pass (2 of 40): most draws find one among the first tries, some only after counting.
    const few = anime.filter((a) => a.year === 2001 && a.episodes === 13);
    expect(few).toHaveLength(2);
    expectUniform(await draws("?year_from=2001&year_to=2001&episodes_min=13&episodes_max=13", 300), few, 300);
  }, 60_000);
});

describe("settings and public lists", () => {
  test("list_public is false by default; POST changes it; bad bodies are wrapped field errors", async () => {
    const { token } = await newUser();
    expect((await call(server, "/account/settings", { token })).body).toEqual({ success: true, data: { list_public: false } });
    expect((await post(server, "/account/settings", { list_public: true }, { token })).body).toEqual({ success: true, data: { list_public: true } });
    expect((await call(server, "/account/settings", { token })).body).toEqual({ success: true, data: { list_public: true } });
    const bad = await post(server, "/account/settings", { list_public: "yes" }, { token });
    expect({ status: bad.status, body: bad.body }).toEqual({ status: 400, body: { success: false, errors: { list_public: ["Must be a valid boolean."] } } });
    const missing = await post(server, "/account/settings", {}, { token });
    expect(missing.body).toEqual({ success: false, errors: { list_public: ["This field is required."] } });
  });

  test("a public list: no private entries, no notes key, username ignoring case; 404 when private or unknown", async () => {
    const user = await registerUser(server, { ...uniqueUser("Shown"), username: `Shöwn_${Date.now().toString(36)}` });
    await putEntry(server, user.token, anime[0]!.id, { status: "watching", notes: "secret notes", score: 9 });
    await putEntry(server, user.token, anime[1]!.id, { status: "completed", private: true, score: 1 });
    const path = `/users/${encodeURIComponent(user.username.toUpperCase())}/list`;

    expect((await call(server, path)).status).toBe(404);
    expect((await call(server, `${path}/stats`)).status).toBe(404);
    await post(server, "/account/settings", { list_public: true }, { token: user.token });

    const page = await call(server, path);
    expect(page.status).toBe(200);
    expect(page.body.count).toBe(1);
    expect(page.body.results[0].anime.id).toBe(anime[0]!.id);
    expect("notes" in page.body.results[0]).toBeFalse();
    expect(page.text).not.toContain("secret notes");
    const stats = (await call(server, `${path}/stats`)).body;
    expect(stats).toMatchObject({ total: 1, mean_score: 9, by_status: { watching: 1, completed: 0 } });

    await post(server, "/account/settings", { list_public: false }, { token: user.token });
    expect((await call(server, path)).body).toEqual({ detail: "Not found." });
    expect((await call(server, "/users/nobody_at_all_here/list")).body).toEqual({ detail: "Not found." });
    expect((await call(server, `/users/${"x".repeat(5000)}/list/stats`)).status).toBe(404);
  });
});

describe("limits and lifetime", () => {
  test("at most 10,000 entries, even under parallel PUTs: exactly the limit is reached", async () => {
    const { id, token } = await newUser();
    const sql = server.running.db.sql;
    // 10,030 anime straight into the catalogue, 9,990 of them on the list (the trigger counts them).
    const [{ base }] = await sql<[{ base: number }]>`select coalesce(max(id), 0)::int + 1 as base from anime`;
    await sql`
      insert into anime (id, title, source, anime_type, num_episodes, status, year, picture, tags, body)
      select ${base} + g, 'Cap ' || g, 'https://example.com/' || g, 'TV', 12, 'Finished', 2000, 'https://example.com/p.jpg', '{}',
             json_build_object('id', ${base} + g, 'title', 'Cap ' || g)::text
      from generate_series(0, 10029) g`;
    await sql`insert into list_entries (user_id, anime_id, status) select ${id}, ${base} + g, 'watching' from generate_series(0, 9989) g`;
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => putEntry(server, token, base + 9990 + i, { status: "plan_to_watch" })),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 400)).toHaveLength(30);
    for (const answer of answers.filter((a) => a.status === 400)) {
      expect(answer.body).toEqual({ success: false, errors: { non_field_errors: ["A list holds at most 10000 entries."] } });
    }
    const [{ count, size }] = await sql<[{ count: number; size: number }]>`
      select (select count(*)::int from list_entries where user_id = ${id}) as count, (select list_size from users where id = ${id}) as size`;
    expect({ count, size }).toEqual({ count: 10_000, size: 10_000 });
    // Replacing an entry of a full list is fine; a new one is not; after a delete there is room again.
    expect((await putEntry(server, token, base, { status: "dropped" })).status).toBe(200);
    const refused = base + 9990 + statuses.indexOf(400);
    expect((await putEntry(server, token, refused, { status: "dropped" })).status).toBe(400);
    await call(server, `/list/${base}`, { method: "DELETE", token });
    expect((await putEntry(server, token, refused, { status: "dropped" })).status).toBe(201);
    await sql`delete from list_entries where user_id = ${id}`;
    await sql`delete from anime where id >= ${base}`;
  }, 60_000);

  test("deleting the account deletes its list", async () => {
    const { id, token } = await newUser();
    await putEntry(server, token, anime[0]!.id, { status: "watching" });
    await putEntry(server, token, anime[1]!.id, { status: "watching" });
    expect((await post(server, "/account/delete", undefined, { token })).status).toBe(200);
    const [{ count }] = await server.running.db.sql<[{ count: number }]>`select count(*)::int as count from list_entries where user_id = ${id}`;
    expect(count).toBe(0);
  });
});
