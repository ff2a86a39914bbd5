// Hostile input for every field and parameter of the list routes, property-based (fast-check): any JSON
// value in any entry field, any text in any query parameter, any path segment, any bytes as an import.
// Whatever arrives: a 4xx with a JSON body in the contract's shape (or a success), never a 5xx, and a
// rejected request leaves the list exactly as it was.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { call } from "./account-support.ts";
import { type FixtureAnime, loadFixtureCatalogue, putEntry } from "./support/list.ts";
import { type TestServer, registerUser, startTestServer, uniqueUser } from "./support/server.ts";

const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

let server: TestServer;
let anime: FixtureAnime[];
let token: string;
let username: string;

beforeAll(async () => {
  server = await startTestServer();
  anime = await loadFixtureCatalogue(server, 12);
  const user = await registerUser(server, uniqueUser("hostile"));
  ({ token, username } = user);
  await putEntry(server, token, anime[0]!.id, { status: "watching", episodes_watched: 2, score: 5, notes: "kept" });
  await putEntry(server, token, anime[1]!.id, { status: "completed", private: true });
  await call(server, "/account/settings", { method: "POST", token, json: { list_public: true } });
}, 60_000);
afterAll(() => server?.stop());

async function listState() {
  const rows = await server.running.db.sql`
    select anime_id, status, episodes_watched, score, rewatches, private, started_on::text, finished_on::text, notes, updated_at
    from list_entries l join users u on u.id = l.user_id where u.username = ${username} order by anime_id`;
  return JSON.stringify(rows);
}

const FIELDS = ["status", "episodes_watched", "score", "rewatches", "private", "started_on", "finished_on", "notes"] as const;

/** Values a client might send by mistake or on purpose. */
const hostileValue = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(
    null, "", " ", -1, 0, 1, 10, 11, 1.5, -0, 1e308, -1e308, 2 ** 31, 2 ** 53, "12", "1e3", "0x10", "NaN", true, "true", [], {},
    "2024-02-30", "2024-13-01", "0000-00-00", "99999-01-01", "2024-1-1", "2024-01-01T00:00:00Z", "watching", "COMPLETED", "x".repeat(3000),
    "\u0000", "𠮷".repeat(2001), "'; drop table list_entries; --",
    // Values whose toString is not a function: Elysia's validation message wrote them into a template (a 500).
    { toString: 0 }, [{ toString: 0 }], { valueOf: 0, toString: 0 },
  ),
);

describe("entry bodies", () => {
  test("any value in any field of PUT and PATCH: 2xx, or 400 with wrapped field errors and nothing changed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("PUT", "PATCH"),
        fc.dictionary(fc.constantFrom(...FIELDS), hostileValue, { maxKeys: 4 }),
        fc.constantFrom(0, 2, 3),
        async (method, body, which) => {
          const id = anime[which]!.id;
          const before = await listState();
          const answer = await call(server, `/list/${id}`, { method, token, json: body });
          if (answer.status === 400) {
            expect(answer.body.success).toBeFalse();
            for (const messages of Object.values(answer.body.errors)) {
              expect(Array.isArray(messages)).toBeTrue();
              for (const message of messages as unknown[]) expect(typeof message).toBe("string");
            }
            expect(await listState()).toBe(before);
          } else if (answer.status === 404) {
            expect(answer.body).toEqual({ detail: "Not found." });
            expect(await listState()).toBe(before);
          } else {
            expect([200, 201]).toContain(answer.status);
            // Put back what the other properties expect.
            await putEntry(server, token, anime[0]!.id, { status: "watching", episodes_watched: 2, score: 5, notes: "kept" });
          }
        },
      ),
      { numRuns: runs(150) },
    );
  }, 120_000);

  test("bodies that are not objects, or not JSON at all", async () => {
    for (const body of ["[]", "null", "1", '"x"', "{", "{\"status\": \"watching\",}", "\u0000", "{".repeat(5000)]) {
      const before = await listState();
      const answer = await call(server, `/list/${anime[2]!.id}`, { method: "PUT", token, body, headers: { "content-type": "application/json" } });
      expect(answer.status).toBe(400);
      expect(typeof answer.body.detail).toBe("string");
      expect(await listState()).toBe(before);
    }
  });
});

describe("parameters", () => {
  const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: "binary", maxLength: 10 }), fc.constantFrom("", " ", ",", "a,,b", "-1", "0", "99999999999999999999", "x".repeat(5000)));
  const routes = [
    { path: "/list", params: ["status", "sort", "page", "page_size"] },
    { path: "/list/random", params: ["status", "anime_status", "type", "season", "year_from", "year_to", "episodes_min", "episodes_max", "tags", "exclude_tags", "studio"] },
    { path: "/list/stats", params: ["format"] },
    { path: `/users/${"USERNAME"}/list`, params: ["status", "sort", "page", "page_size"] },
  ];

  test("a NUL in a name filter (PostgreSQL text cannot hold one): no anime has that tag or studio, none is excluded", async () => {
    for (const nul of ["\u0000", "action\u0000"]) {
      for (const name of ["tags", "studio"]) {
        const answer = await call(server, `/list/random?${new URLSearchParams({ [name]: nul })}`, { token });
        expect({ name, status: answer.status, body: answer.body }).toEqual({ name, status: 404, body: { detail: "Not found." } });
      }
      expect((await call(server, `/list/random?${new URLSearchParams({ exclude_tags: nul })}`, { token })).status).toBe(200);
    }
  });

  test("any text in any query parameter: 200, 400 with bare field errors, or 404", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.array(fc.tuple(fc.nat(20), text), { maxLength: 4 }), async (route, values) => {
        const query = new URLSearchParams(values.map(([i, value]) => [route.params[i % route.params.length]!, value]));
        const answer = await call(server, `${route.path.replace("USERNAME", username)}?${query}`, { token });
        expect([200, 400, 404]).toContain(answer.status);
        if (answer.status === 400) {
          for (const [name, messages] of Object.entries(answer.body)) {
            expect(route.params).toContain(name);
            expect(Array.isArray(messages)).toBeTrue();
          }
        }
        if (answer.status === 404) expect(typeof answer.body.detail).toBe("string");
      }),
      { numRuns: runs(200) },
    );
  }, 120_000);

  test("any path segment as an anime id or a username", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ unit: "binary", minLength: 1, maxLength: 20 })), async (segment) => {
        const encoded = encodeURIComponent(segment);
        const before = await listState();
        for (const method of ["GET", "PATCH", "DELETE"]) {
          const answer = await call(server, `/list/${encoded}`, { method, token, json: method === "PATCH" ? { score: 3 } : undefined });
          expect([200, 400, 404, 405]).toContain(answer.status);
        }
        for (const path of [`/users/${encoded}/list`, `/users/${encoded}/list/stats`]) expect([200, 404]).toContain((await call(server, path)).status);
        if (!/^\d+$/.test(segment)) expect(await listState()).toBe(before);
      }),
      { numRuns: runs(60) },
    );
  }, 120_000);

  test("a username PostgreSQL cannot hold (a NUL character), and one far too long: 404 like any unknown user", async () => {
    for (const segment of ["%00", "a%00b", "x".repeat(300)]) {
      for (const path of [`/users/${segment}/list`, `/users/${segment}/list/stats`]) {
        const answer = await call(server, path);
        expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 404, body: { detail: "Not found." } });
      }
    }
  });

  test("import: any bytes, any mode: 400 or 413 with a detail (or a field error for mode), and the list unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.string({ maxLength: 500 }).map((s) => `<myanimelist>${s}</myanimelist>`), fc.string({ maxLength: 200 })),
        fc.option(fc.oneof(fc.constantFrom("merge", "replace", "MERGE", "", "x"), fc.string({ maxLength: 10 }))),
        async (body, mode) => {
          const before = await listState();
          const query = mode === null ? "" : `?mode=${encodeURIComponent(mode)}`;
          const answer = await call(server, `/list/import${query}`, { method: "POST", token, body, headers: { "content-type": "application/xml" } });
          expect([200, 400, 413]).toContain(answer.status);
          if (answer.status === 200) {
            // Only an export with no matching entry can succeed here (merge, or an empty replace).
            expect(answer.body.success).toBeTrue();
            if (answer.body.removed > 0) await restore();
            return;
          }
          expect(answer.body.detail ?? answer.body.mode ?? answer.body.errors).toBeDefined();
          expect(await listState()).toBe(before);
        },
      ),
      { numRuns: runs(150) },
    );
  }, 120_000);
});

async function restore() {
  await putEntry(server, token, anime[0]!.id, { status: "watching", episodes_watched: 2, score: 5, notes: "kept" });
  await putEntry(server, token, anime[1]!.id, { status: "completed", private: true });
}
