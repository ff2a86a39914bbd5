// POST /list/import and GET /list/export over HTTP: the round trip (export → import gives the same
// list), merge and replace, gzip by header and by magic bytes, unmatched ids, values brought into range,
// the 10,000 cap, and hostile uploads (entity expansion, external entities, DOCTYPE, 20 MiB, a gzip
// bomb, truncated gzip, XML of another shape): a 4xx with a reason, and the list unchanged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { type Answer, call, post } from "./account-support.ts";
import { type FixtureAnime, loadFixtureCatalogue, putEntry } from "./support/list.ts";
import { spawnServer } from "./support/cluster.ts";
import { adminUrl } from "./support/db.ts";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

let server: TestServer;
let anime: FixtureAnime[];

beforeAll(async () => {
  server = await startTestServer();
  anime = await loadFixtureCatalogue(server, 30);
}, 120_000);
afterAll(() => server?.stop(), 60_000);

interface MalFields {
  id: number | string;
  title?: string;
  status?: string;
  watched?: number | string;
  score?: number | string;
  times?: number | string;
  start?: string;
  finish?: string;
  comments?: string;
}

/** A MyAnimeList export as MyAnimeList writes it (the fields the import reads, and a few it ignores). */
function malXml(entries: MalFields[]): string {
  const anime = entries.map(
    (e) => `	<anime>
		<series_animedb_id>${e.id}</series_animedb_id>
		<series_title><![CDATA[${e.title ?? `Title ${e.id}`}]]></series_title>
		<series_type>TV</series_type>
		<series_episodes>12</series_episodes>
		<my_id>0</my_id>
		<my_watched_episodes>${e.watched ?? 0}</my_watched_episodes>
		<my_start_date>${e.start ?? "0000-00-00"}</my_start_date>
		<my_finish_date>${e.finish ?? "0000-00-00"}</my_finish_date>
		<my_rated></my_rated>
		<my_score>${e.score ?? 0}</my_score>
		<my_status>${e.status ?? "Watching"}</my_status>
		<my_comments><![CDATA[${e.comments ?? ""}]]></my_comments>
		<my_times_watched>${e.times ?? 0}</my_times_watched>
		<update_on_import>1</update_on_import>
	</anime>
`,
  );
  return `<?xml version="1.0" encoding="UTF-8" ?>
<myanimelist>
	<myinfo>
		<user_id>1</user_id>
		<user_name>someone</user_name>
		<user_export_type>1</user_export_type>
		<user_total_anime>${entries.length}</user_total_anime>
	</myinfo>
${anime.join("")}</myanimelist>
`;
}

/** `mebibytes` MiB of zeros, gzip-compressed a chunk at a time. */
async function gzipBomb(mebibytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const zeros = new Uint8Array(1024 * 1024);
  let sent = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < mebibytes) controller.enqueue(zeros);
      else controller.close();
    },
  });
  return new Uint8Array(await new Response(source.pipeThrough(new CompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>)).arrayBuffer());
}

const residentKb = (status: string) => Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);

const newUser = () => registerUser(server, uniqueUser("importer"));

function importList(token: string, body: BodyInit, { mode, headers }: { mode?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const query = mode === undefined ? "" : `?mode=${encodeURIComponent(mode)}`;
  return call(server, `/list/import${query}`, { method: "POST", token, body, headers: { "content-type": "application/xml", ...headers } });
}

/** The list, comparable: every field but the timestamps, by anime id. */
async function listOf(token: string) {
  const answer = await call(server, "/list?page_size=500&sort=title", { token });
  expect(answer.status).toBe(200);
  return (answer.body.results as Record<string, unknown>[])
    .map(({ created: _c, updated: _u, anime, ...rest }) => ({ id: (anime as { id: number }).id, ...rest }) as Record<string, unknown> & { id: number })
    .sort((a, b) => a.id - b.id);
}

async function exportOf(token: string): Promise<string> {
  const response = await server.request("/list/export", { token });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toStartWith("application/xml");
  return response.text();
}

describe("round trip", () => {
  test("export then import (replace) gives back the same list, every field the format carries", async () => {
    const { token } = await newUser();
    const values = [
      { status: "watching", episodes_watched: 3, score: 8, started_on: "2024-01-05", notes: "Tom & Jerry <3 ]]> \"quotes\" ‘curly’ 東京\nline two" },
      { status: "completed", score: null, rewatches: 2, started_on: "2023-12-01", finished_on: "2023-12-24" },
      { status: "on_hold", episodes_watched: 1, finished_on: "2020-02-29" },
      { status: "dropped", score: 1, notes: "  spaced  " },
      { status: "plan_to_watch" },
    ];
    for (const [i, body] of values.entries()) expect((await putEntry(server, token, anime[i]!.id, body)).status).toBe(201);
    const before = await listOf(token);
    const xml = await exportOf(token);
    expect(xml).toContain(`<series_animedb_id>${anime[0]!.malId}</series_animedb_id>`);

    // Into another user's empty list.
    const other = await newUser();
    const report = await importList(other.token, xml, { mode: "replace" });
    expect(report.body).toEqual({ success: true, created: 5, updated: 0, unchanged: 0, removed: 0, unmatched: [] });
    expect(await listOf(other.token)).toEqual(before);

    // Into the same list after changes: replace restores it.
    await putEntry(server, token, anime[0]!.id, { status: "dropped" });
    await putEntry(server, token, anime[10]!.id, { status: "watching" });
    const restore = await importList(token, xml, { mode: "replace" });
    expect(restore.body).toMatchObject({ created: 0, updated: 1, unchanged: 4, removed: 1 });
    expect(await listOf(token)).toEqual(before);
  });

  test("property: for any list, export then import (replace) into an empty list gives it back", async () => {
    const candidates = anime.filter((a) => a.episodes === 0 || a.episodes >= 12);
    const day = fc.integer({ min: 0, max: 20_000 }).map((n) => new Date(Date.UTC(1980, 0, 1) + n * 86_400_000).toISOString().slice(0, 10));
    // Notes: any text XML 1.0 can carry (a MyAnimeList export is XML: other control characters cannot survive it).
    const notes = fc.string({ unit: "grapheme", maxLength: 40 }).map((text) => text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, ""));
    const entry = fc.record({
      status: fc.constantFrom("watching", "completed", "on_hold", "dropped", "plan_to_watch"),
      episodes_watched: fc.integer({ min: 0, max: 12 }),
      score: fc.option(fc.integer({ min: 1, max: 10 })),
      rewatches: fc.integer({ min: 0, max: 1000 }),
      dates: fc.tuple(fc.option(day), fc.option(day)).map(([a, b]) => (a !== null && b !== null && b < a ? [b, a] : [a, b])),
      notes,
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(fc.constantFrom(...candidates.keys()), entry), { maxLength: 6, selector: ([i]) => i }), async (entries) => {
        const { token } = await newUser();
        for (const [i, { dates, ...fields }] of entries) {
          const answer = await putEntry(server, token, candidates[i]!.id, { ...fields, started_on: dates[0], finished_on: dates[1] });
          expect(answer.status, answer.text).toBe(201);
        }
        const before = await listOf(token);
        const other = await newUser();
        const report = await importList(other.token, await exportOf(token), { mode: "replace" });
        expect(report.body).toMatchObject({ success: true, created: entries.length, unmatched: [] });
        expect(await listOf(other.token)).toEqual(before);
      }),
      { numRuns: 12 },
    );
  }, 120_000);

  test("the export leaves out entries without a myanimelist.net source, and says how many", async () => {
    const { token } = await newUser();
    const [{ id }] = await server.running.db.sql<[{ id: number }]>`
      insert into anime (title, source, anime_type, num_episodes, status, year, picture, tags, body)
      values ('No MAL', 'https://anidb.net/anime/1', 'TV', 1, 'Finished', null, 'https://example.com/p.jpg', '{}', '{"id":0}') returning id`;
    await putEntry(server, token, id, { status: "watching" });
    await putEntry(server, token, anime[0]!.id, { status: "watching" });
    const xml = await exportOf(token);
    expect(xml.match(/<anime>/g)).toHaveLength(1);
    expect(xml).toContain("1 entry without a MyAnimeList id was left out");
  });
});

describe("merge and replace", () => {
  test("merge creates public entries, keeps existing private flags and other entries; the same file again changes nothing", async () => {
    const { token } = await newUser();
    await putEntry(server, token, anime[0]!.id, { status: "watching", private: true, episodes_watched: 1 });
    await putEntry(server, token, anime[1]!.id, { status: "dropped" });
    await putEntry(server, token, anime[2]!.id, { status: "completed", episodes_watched: anime[2]!.episodes });
    const xml = malXml([
      { id: anime[0]!.malId, status: "Completed", watched: 5 },
      { id: anime[2]!.malId, status: "Completed", watched: anime[2]!.episodes },
      { id: anime[3]!.malId, status: "Plan to Watch" },
      { id: 99_999_999, title: "Not in the catalogue" },
    ]);
    const report = await importList(token, xml);
    expect(report.body).toEqual({
      success: true,
      created: 1,
      updated: 1,
      unchanged: 1,
      removed: 0,
      unmatched: [{ mal_id: 99_999_999, title: "Not in the catalogue" }],
    });
    const list = await listOf(token);
    expect(list.map((e) => e.id)).toEqual([anime[0]!.id, anime[1]!.id, anime[2]!.id, anime[3]!.id].sort((a, b) => a - b));
    expect(list.find((e) => e.id === anime[0]!.id)).toMatchObject({ status: "completed", episodes_watched: 5, private: true });
    expect(list.find((e) => e.id === anime[3]!.id)).toMatchObject({ status: "plan_to_watch", private: false });
    expect((await importList(token, xml, { mode: "merge" })).body).toMatchObject({ created: 0, updated: 0, unchanged: 3, removed: 0 });
  });

  test("replace removes the entries the file does not have", async () => {
    const { token } = await newUser();
    for (const a of anime.slice(0, 4)) await putEntry(server, token, a.id, { status: "watching" });
    const report = await importList(token, malXml([{ id: anime[0]!.malId }, { id: anime[5]!.malId }]), { mode: "REPLACE" });
    expect(report.body).toMatchObject({ created: 1, unchanged: 1, removed: 3 });
    expect((await listOf(token)).map((e) => e.id)).toEqual([anime[0]!.id, anime[5]!.id].sort((a, b) => a - b));
  });

  test("values are brought into range; unknown statuses become plan_to_watch", async () => {
    const { token } = await newUser();
    const a = anime.find((x) => x.episodes === 12)!;
    const xml = malXml([
      { id: a.malId, status: "Rewatching soon?", watched: 999, score: 11, times: 5000, start: "2024-13-01", finish: "2024-02-30", comments: "x".repeat(2500) },
    ]);
    expect((await importList(token, xml)).body).toMatchObject({ created: 1 });
    const [entry] = await listOf(token);
    expect(entry).toMatchObject({ status: "plan_to_watch", episodes_watched: 12, score: null, rewatches: 1000, started_on: null, finished_on: null });
    expect((entry!.notes as string).length).toBe(2000);
  });

  test("the whole import fits in the 10,000-entry cap or nothing is imported", async () => {
    const { token, id } = await newUser();
    await putEntry(server, token, anime[0]!.id, { status: "watching" });
    const sql = server.running.db.sql;
    const [{ base }] = await sql<[{ base: number }]>`select coalesce(max(id), 0)::int + 1 as base from anime`;
    await sql`
      insert into anime (id, title, source, anime_type, num_episodes, status, year, picture, tags, body)
      select ${base} + g, 'Cap ' || g, 'https://example.com/' || g, 'TV', 12, 'Finished', 2000, 'https://example.com/p.jpg', '{}', '{}'
      from generate_series(0, 9999) g`;
    await sql`insert into anime_sources (url, anime_id) select 'https://myanimelist.net/anime/' || (800000 + g), ${base} + g from generate_series(0, 9999) g`;
    const xml = malXml(Array.from({ length: 10_000 }, (_, g) => ({ id: 800_000 + g })));
    const answer = await importList(token, xml);
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 400,
      body: { success: false, errors: { non_field_errors: ["A list holds at most 10000 entries."] } },
    });
    const [{ count }] = await sql<[{ count: number }]>`select count(*)::int as count from list_entries where user_id = ${id}`;
    expect(count).toBe(1);
    // Replace mode makes room: exactly 10,000.
    expect((await importList(token, xml, { mode: "replace" })).body).toMatchObject({ created: 10_000, removed: 1 });
    await sql`delete from list_entries where user_id = ${id}`;
    await sql`delete from anime where id >= ${base}`;
  }, 60_000);
});

describe("compressed uploads", () => {
  test("gzip by Content-Encoding, and a raw .xml.gz recognised by its magic bytes", async () => {
    const { token } = await newUser();
    const xml = malXml([{ id: anime[0]!.malId }, { id: anime[1]!.malId }]);
    const byHeader = await importList(token, gzipSync(xml), { headers: { "content-encoding": "gzip" } });
    expect(byHeader.body).toMatchObject({ success: true, created: 2 });
    const byMagic = await importList(token, gzipSync(malXml([{ id: anime[2]!.malId }])), { headers: { "content-type": "application/gzip" } });
    expect(byMagic.body).toMatchObject({ success: true, created: 1 });
    expect((await listOf(token)).length).toBe(3);
  });
});

describe("hostile uploads: a 4xx with a reason, and the list unchanged", () => {
  let token: string;
  let before: Awaited<ReturnType<typeof listOf>>;
  beforeAll(async () => {
    ({ token } = await newUser());
    await putEntry(server, token, anime[0]!.id, { status: "watching", notes: "mine" });
    before = await listOf(token);
  }, 60_000);

  const expectRefused = async (answer: Answer, status: number, reason?: RegExp) => {
    expect(answer.status, answer.text.slice(0, 200)).toBe(status);
    expect(typeof answer.body.detail).toBe("string");
    if (reason) expect(answer.body.detail).toMatch(reason);
    expect(await listOf(token)).toEqual(before);
  };

  test("billion laughs", async () => {
    const lol = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<myanimelist><anime><series_animedb_id>1</series_animedb_id><series_title>&lol9;</series_title></anime></myanimelist>`;
    await expectRefused(await importList(token, lol), 400, /DOCTYPE/);
  });

  test("external entities and a bare DOCTYPE", async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<myanimelist><anime><series_animedb_id>${anime[1]!.malId}</series_animedb_id><my_comments>&xxe;</my_comments></anime></myanimelist>`;
    const answer = await importList(token, xxe);
    await expectRefused(answer, 400, /DOCTYPE/);
    expect(answer.text).not.toContain("root:");
    await expectRefused(await importList(token, `<!DOCTYPE myanimelist>${malXml([{ id: anime[1]!.malId }]).replace(/^<\?xml[^>]*\?>/, "")}`), 400, /DOCTYPE/);
    // An undeclared entity reference is malformed XML, never resolved.
    await expectRefused(await importList(token, malXml([{ id: anime[1]!.malId, title: "]]>&xxe;<![CDATA[" }])), 400);
  });

  test("20 MiB: 413, whether the length is declared or streamed", async () => {
    const big = new Uint8Array(20 * 1024 * 1024).fill(0x20);
    await expectRefused(await importList(token, big), 413, /too large/);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(1024 * 1024).fill(0x20));
        controller.close();
      },
    });
    await expectRefused(await importList(token, stream), 413);
  });

  test("a gzip bomb: 413, and the server's memory stays bounded", async () => {
    const bomb = await gzipBomb(512); // ~0.5 MB that inflates to 512 MiB, made without holding 512 MiB here
    Bun.gc(true);
    const baselineKb = residentKb(await Bun.file("/proc/self/status").text());
    let peakKb = 0;
    const sample = async () => (peakKb = Math.max(peakKb, residentKb(await Bun.file("/proc/self/status").text())));
    const sampler = setInterval(sample, 5);
    try {
      for (const headers of [{ "content-encoding": "gzip" }, {}] as Record<string, string>[]) {
        await expectRefused(await importList(token, bomb, { headers }), 413);
      }
    } finally {
      clearInterval(sampler);
    }
    await sample();
    // The test, every earlier test file and this server share this process (and with the embedded
    // database, PGlite's heap): only the growth while refusing is bounded here. The server's own
    // RSS is bounded in the next test, on a server process of its own.
    expect(peakKb - baselineKb).toBeLessThan(64 * 1024);
  }, 30_000);

  test.skipIf(!adminUrl)("a server process refusing gzip bombs, one after another and four at once, stays under 300 MB RSS (PostgreSQL: a process of its own)", async () => {
    const bomb = await gzipBomb(512);
    const spawned = await spawnServer(server.database.env);
    try {
      const registered = await spawned.request("/account/register", { method: "POST", json: uniqueUser("bomber") });
      const { token: bomber } = (await registered.json()) as { token: string };
      let peakKb = 0;
      const sample = async () => (peakKb = Math.max(peakKb, residentKb(await Bun.file(`/proc/${spawned.pid}/status`).text())));
      const sampler = setInterval(sample, 5);
      const send = () => spawned.request("/list/import", { method: "POST", token: bomber, body: bomb, headers: { "content-type": "application/xml" } });
      try {
        for (let i = 0; i < 3; i++) expect((await send()).status).toBe(413);
        expect((await Promise.all([send(), send(), send(), send()])).map((r) => r.status)).toEqual([413, 413, 413, 413]);
      } finally {
        clearInterval(sampler);
      }
      await sample();
      expect(peakKb).toBeGreaterThan(0);
      expect(peakKb).toBeLessThan(300 * 1024);
    } finally {
      await spawned.stop();
    }
  }, 60_000);

  test("truncated gzip, and Content-Encoding: gzip on a body that is not", async () => {
    const gz = gzipSync(malXml([{ id: anime[1]!.malId }]));
    await expectRefused(await importList(token, gz.subarray(0, gz.length - 20)), 400, /truncated|corrupt/);
    await expectRefused(await importList(token, malXml([{ id: anime[1]!.malId }]), { headers: { "content-encoding": "gzip" } }), 400, /gzip/);
  });

  test("XML of another shape, malformed XML, not XML, an empty body", async () => {
    await expectRefused(await importList(token, `<?xml version="1.0"?><rss><channel><title>x</title></channel></rss>`), 400, /myanimelist/);
    await expectRefused(await importList(token, `<myanimelist><anime><series_animedb_id>1</anime>`), 400, /well-formed/);
    await expectRefused(await importList(token, `{"anime": []}`), 400);
    await expectRefused(await importList(token, ""), 400, /empty/);
    await expectRefused(await importList(token, new Uint8Array([0xff, 0xfe, 0x00, 0x3c])), 400);
  });

  test("mode other than merge/replace: 400 field error, before the body is read", async () => {
    const answer = await importList(token, malXml([{ id: anime[1]!.malId }]), { mode: "overwrite" });
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 400, body: { mode: ['"overwrite" is not a valid choice.'] } });
    expect((await importList(token, "x", { mode: "" })).body).toEqual({ mode: ["This field may not be blank."] });
    expect(await listOf(token)).toEqual(before);
  });

  test("other routes keep the 64 KiB JSON body limit", async () => {
    const answer = await post(server, "/account/settings", { list_public: true, pad: "x".repeat(70 * 1024) }, { token });
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 413, body: { detail: "Request body too large." } });
  });
});
