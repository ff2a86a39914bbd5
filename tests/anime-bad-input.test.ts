// Hostile input for every parameter of the Part 2 anime routes (search, filtered random, entries,
// lookup, details): wrong types, huge numbers, empty and 10,000-character strings, repeated
// parameters, unicode, SQL-ish text. Always a clear 4xx with the contract's field errors (or a 200
// when the value is fine), never a 5xx or a hang; then random strings for every parameter (fast-check).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { importCatalogue } from "../src/anime/import/importer.ts";
import { datasetEntry } from "./support/anime.ts";
import { type TestServer, startTestServer } from "./support/server.ts";

const DEADLINE_MS = 5_000;
const LONG = "x".repeat(10_000);
const SQLISH = "1'; drop table anime; --";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ LOAD_SAMPLE: "off" });
  await importCatalogue(server.running.db.sql, [
    datasetEntry({ title: "Hostile Input", sources: ["https://anidb.net/anime/1"], tags: ["action"], studios: ["bones"] }),
    datasetEntry({ title: "Second", sources: ["https://anidb.net/anime/2"], tags: ["drama"] }),
  ]);
  await server.running.services.catalogue.reload();
}, 60_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

async function get(path: string): Promise<{ status: number; json: unknown }> {
  let response: Response;
  try {
    response = await server.request(path, { signal: AbortSignal.timeout(DEADLINE_MS) });
  } catch (error) {
    if ((error as Error).name === "TimeoutError") throw new Error(`hang: GET ${path}`);
    throw error;
  }
  const text = await response.text();
  if (response.status >= 500) throw new Error(`GET ${path.slice(0, 200)} answered ${response.status}: ${text}`);
  return { status: response.status, json: text === "" ? null : JSON.parse(text) };
}

const q = (name: string, value: string) => `${name}=${encodeURIComponent(value)}`;
const blank = ["This field may not be blank."];
const integer = ["A valid integer is required."];
const atMost = (n: number) => [`Ensure this value is less than or equal to ${n}.`];
const atLeast = (n: number) => [`Ensure this value is greater than or equal to ${n}.`];
const tooLong = (n: number) => [`Ensure this field has no more than ${n} characters.`];
const choice = (value: string) => [`"${value}" is not a valid choice.`];

/** [parameter, value, expected field errors (undefined: the value is fine, 200)]. */
type Case = [string, string, string[] | undefined];

const VALID_CHOICE: Record<string, string> = { type: "TV", status: "Finished", season: "Fall" };

const FILTER_CASES: Case[] = [
  ...["type", "status", "season"].flatMap((name): Case[] => [
    [name, "", blank],
    [name, "   ", blank],
    [name, "Film", choice("Film")],
    [name, "1", choice("1")],
    [name, SQLISH, choice(SQLISH)],
    [name, "ТВ", choice("ТВ")],
    [name, LONG, tooLong(2000)],
    [name, `${VALID_CHOICE[name]},`, choice("")],
  ]),
  ["type", "tv,MOVIE", undefined],
  ["status", "finished", undefined],
  ["season", "FALL,winter", undefined],
  ...["year_from", "year_to"].flatMap((name): Case[] => [
    [name, "", blank],
    [name, "abc", integer],
    [name, "2000.5", integer],
    [name, "1e3", integer],
    [name, "0x7d0", integer],
    [name, "99999999999999999999999", atMost(2100)],
    [name, "-5", atLeast(1900)],
    [name, "1899", atLeast(1900)],
    [name, "2101", atMost(2100)],
    [name, LONG, tooLong(200)],
    [name, SQLISH, integer],
    [name, "２０００", integer],
    [name, "+2000", undefined],
    [name, " 2000 ", undefined],
  ]),
  ...["episodes_min", "episodes_max"].flatMap((name): Case[] => [
    [name, "", blank],
    [name, "many", integer],
    [name, "-1", atLeast(0)],
    [name, "100001", atMost(100000)],
    [name, "9".repeat(400), tooLong(200)],
    [name, "0", undefined],
  ]),
  ...["tags", "exclude_tags"].flatMap((name): Case[] => [
    [name, "", blank],
    [name, "action,,drama", blank],
    [name, "action, ", blank],
    [name, LONG, tooLong(2000)],
    [name, "y".repeat(201), tooLong(200)],
    [name, Array.from({ length: 51 }, (_, i) => `t${i}`).join(","), ["Ensure this field has no more than 50 elements."]],
    [name, SQLISH, undefined],
    [name, "アクション,🎉", undefined],
  ]),
  ["studio", "", blank],
  ["studio", LONG, tooLong(200)],
  ["studio", SQLISH, undefined],
  ["studio", "京都アニメーション", undefined],
];

const SEARCH_CASES: Case[] = [
  ...FILTER_CASES,
  ["q", "", blank],
  ["q", "  ", blank],
  ["q", LONG, tooLong(200)],
  ["q", "é".repeat(201), tooLong(200)],
  ["q", "😀".repeat(200), undefined], // 200 characters (code points), 400 UTF-16 units
  ["q", SQLISH, undefined],
  ["q", "%_\\", undefined],
  ["q", "東京喰種", undefined],
  ["sort", "", blank],
  ["sort", "bogus", choice("bogus")],
  ["sort", "title,year", choice("title,year")],
  ["sort", SQLISH, choice(SQLISH)],
  ["sort", "-TITLE", undefined],
  ["page_size", "", blank],
  ["page_size", "0", atLeast(1)],
  ["page_size", "101", atMost(100)],
  ["page_size", "abc", integer],
  ["page_size", "99999999999999999999", atMost(100)],
  ["page_size", LONG, tooLong(200)],
  ["page", "", blank],
];

describe("GET /anime/search", () => {
  for (const [name, value, errors] of SEARCH_CASES) {
    test(`${name}=${JSON.stringify(value.slice(0, 30))}${value.length > 30 ? "…" : ""}`, async () => {
      const { status, json } = await get(`/anime/search?${q(name, value)}`);
      if (errors === undefined) expect(status).toBe(200);
      else expect({ status, json }).toEqual({ status: 400, json: { [name]: errors } });
    });
  }

  test("a page that is not a positive integer, or is huge: 404 Invalid page.", async () => {
    for (const page of ["0", "-1", "abc", "1.0", LONG, "99999999999999999999", SQLISH, "١"]) {
      const { status, json } = await get(`/anime/search?${q("page", page)}`);
      expect({ page: page.slice(0, 20), status, json }).toEqual({ page: page.slice(0, 20), status: 404, json: { detail: "Invalid page." } });
    }
  });

  test("every bad field is reported at once", async () => {
    const { status, json } = await get("/anime/search?q=&type=Film&year_from=abc&page_size=0&sort=nope&tags=&studio=");
    expect(status).toBe(400);
    expect(json).toEqual({
      q: blank,
      type: choice("Film"),
      year_from: integer,
      page_size: atLeast(1),
      sort: choice("nope"),
      tags: blank,
      studio: blank,
    });
  });

  test("a repeated parameter: the last one counts", async () => {
    expect((await get("/anime/search?type=Film&type=TV")).status).toBe(200);
    expect(await get("/anime/search?type=TV&type=Film")).toEqual({ status: 400, json: { type: choice("Film") } });
    expect(await get("/anime/search?page_size=5&page_size=500")).toEqual({ status: 400, json: { page_size: atMost(100) } });
  });

  test("relevance needs q (but a bad q is reported as itself)", async () => {
    expect(await get("/anime/search?sort=relevance")).toEqual({ status: 400, json: { sort: ["Sorting by relevance needs q."] } });
    expect(await get("/anime/search?sort=relevance&q=")).toEqual({ status: 400, json: { q: blank } });
  });
});

describe("GET /anime/random with filters", () => {
  for (const [name, value, errors] of FILTER_CASES) {
    test(`${name}=${JSON.stringify(value.slice(0, 30))}${value.length > 30 ? "…" : ""}`, async () => {
      const { status, json } = await get(`/anime/random?${q(name, value)}`);
      if (errors === undefined) expect([200, 404]).toContain(status);
      else expect({ status, json }).toEqual({ status: 400, json: { [name]: errors } });
    });
  }
});

describe("GET /anime/entries", () => {
  const message = { ids: ["Enter up to 100 positive integers, separated by commas."] };
  const cases: [string, number, unknown][] = [
    ["", 400, { ids: blank }],
    [LONG, 400, message],
    ["9".repeat(10_000), 200, { count: 0, results: [] }],
    [SQLISH, 400, message],
    ["１", 400, message],
    ["1;2", 400, message],
    ["[1,2]", 400, message],
    ["0x10", 400, message],
    ["-0", 400, message],
    ["00", 400, message],
    ["99999999999999999999999", 200, { count: 0, results: [] }],
    ["2147483647", 200, { count: 0, results: [] }],
  ];
  for (const [value, status, body] of cases) {
    test(`ids=${JSON.stringify(value.slice(0, 30))}`, async () => {
      expect(await get(`/anime/entries?${q("ids", value)}`)).toEqual({ status, json: body });
    });
  }

  test("a repeated parameter: the last one counts", async () => {
    expect((await get("/anime/entries?ids=abc&ids=1")).status).toBe(200);
    expect(await get("/anime/entries?ids=1&ids=abc")).toEqual({ status: 400, json: message });
  });
});

describe("GET /anime/lookup", () => {
  const cases: [string, number, unknown][] = [
    ["", 400, { source: blank }],
    [LONG, 400, { source: tooLong(2000) }],
    [SQLISH, 404, { detail: "Not found." }],
    ["https://anidb.net/anime/1%' or '1'='1", 404, { detail: "Not found." }],
    ["🎉", 404, { detail: "Not found." }],
    ["https://", 404, { detail: "Not found." }],
    ["//", 404, { detail: "Not found." }],
    ["\u0000", 404, { detail: "Not found." }],
    ["https://anidb.net/anime/1\u0000", 404, { detail: "Not found." }],
  ];
  for (const [value, status, body] of cases) {
    test(`source=${JSON.stringify(value.slice(0, 30))}`, async () => {
      expect(await get(`/anime/lookup?${q("source", value)}`)).toEqual({ status, json: body });
    });
  }

  test("a repeated parameter: the last one counts", async () => {
    expect((await get("/anime/lookup?source=nope&source=https://anidb.net/anime/1")).status).toBe(200);
  });
});

describe("GET /anime/entry/{id}/details", () => {
  for (const id of ["0", "-1", "1.0", "2147483648", "99999999999999999999", LONG, encodeURIComponent(SQLISH), "%F0%9F%8E%89", "1e3", "0x1"]) {
    test(`id=${id.slice(0, 30)}`, async () => {
      expect(await get(`/anime/entry/${id}/details`)).toEqual({ status: 404, json: { detail: "Not found." } });
    });
  }
});

describe("random strings for every parameter never give a 5xx", () => {
  const ROUTES: [string, string[]][] = [
    ["/anime/search", ["q", "type", "status", "season", "year_from", "year_to", "episodes_min", "episodes_max", "tags", "exclude_tags", "studio", "sort", "page", "page_size"]],
    ["/anime/random", ["type", "status", "season", "year_from", "year_to", "episodes_min", "episodes_max", "tags", "exclude_tags", "studio"]],
    ["/anime/entries", ["ids"]],
    ["/anime/lookup", ["source"]],
  ];
  for (const [path, names] of ROUTES) {
    test(path, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(fc.constantFrom(...names), fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.stringMatching(/^[-+0-9, ]{0,30}$/))),
          async (params) => {
            const query = Object.entries(params).map(([name, value]) => q(name, value)).join("&");
            const { status, json } = await get(`${path}?${query}`);
            expect([200, 400, 404]).toContain(status);
            if (status === 400) {
              for (const [field, messages] of Object.entries(json as Record<string, unknown>)) {
                expect(names).toContain(field);
                expect(Array.isArray(messages) && messages.every((m) => typeof m === "string")).toBe(true);
              }
            }
          },
        ),
        { numRuns: 60 },
      );
    }, 60_000);
  }
});
