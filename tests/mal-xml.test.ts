// The MyAnimeList XML export format (src/list/mal-xml.ts) and the import body reader
// (src/http/raw-body.ts), as pure units: the parser's mapping rules, hostile XML, the export → import
// round trip (property-based), and bodies that are too large, gzip bombs, truncated or corrupt gzip.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createGzip } from "node:zlib";
import { HttpError } from "../src/http/errors.ts";
import { readImportBody } from "../src/http/raw-body.ts";
import {
  type ExportEntry,
  MAL_LIMITS,
  MalFormatError,
  type MalEntry,
  type ListStatus,
  parseMalExport,
  parseMalExportAsync,
  serializeMalExport,
  xmlCharactersOnly,
} from "../src/list/mal-xml.ts";
import { ANIME_TYPES } from "../src/shared/anime-filters.ts";

const FIXTURES = `${import.meta.dir}/fixtures`;
const MiB = 1024 * 1024;

/** One `<anime>` with MyAnimeList's fields; `fields` replaces or (with undefined) removes some. */
function anime(fields: Record<string, string | undefined> = {}): string {
  const all: Record<string, string | undefined> = {
    series_animedb_id: "1535",
    series_title: "<![CDATA[Death Note]]>",
    series_type: "TV",
    series_episodes: "37",
    my_id: "0",
    my_watched_episodes: "37",
    my_start_date: "2024-01-05",
    my_finish_date: "0000-00-00",
    my_rated: "",
    my_score: "9",
    my_storage: "",
    my_storage_value: "0.00",
    my_status: "Completed",
    my_comments: "<![CDATA[notes here]]>",
    my_times_watched: "1",
    my_rewatch_value: "",
    my_priority: "LOW",
    my_tags: "<![CDATA[]]>",
    my_rewatching: "0",
    my_rewatching_ep: "0",
    my_discuss: "1",
    my_sns: "default",
    update_on_import: "1",
    ...fields,
  };
  const inner = Object.entries(all)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<${name}>${value}</${name}>`)
    .join("");
  return `<anime>${inner}</anime>`;
}

const MYINFO = "<myinfo><user_id>1</user_id><user_name>someone</user_name><user_export_type>1</user_export_type></myinfo>";
const exportOf = (...animes: string[]) => `<?xml version="1.0" encoding="UTF-8" ?>\n<myanimelist>${MYINFO}${animes.join("\n")}</myanimelist>\n`;
const onlyEntry = (fields: Record<string, string | undefined>): MalEntry => {
  const { entries } = parseMalExport(exportOf(anime(fields)));
  expect(entries).toHaveLength(1);
  return entries[0] as MalEntry;
};

/** The reason a document is refused (fails the test if it is accepted or fails otherwise). */
function refusal(xml: string): string {
  try {
    parseMalExport(xml);
  } catch (error) {
    expect(error).toBeInstanceOf(MalFormatError);
    return (error as Error).message;
  }
  throw new Error("the document was accepted");
}

describe("parseMalExport: MyAnimeList's fields", () => {
  test("a real-looking export (MyAnimeList's header comment, tabs) gives every entry with the contract's mapping", async () => {
    const parsed = parseMalExport(await Bun.file(`${FIXTURES}/mal-anime-export.xml`).text());
    expect(parsed.invalid).toEqual([]);
    expect(parsed.duplicates).toBe(0);
    expect(parsed.entries).toEqual([
      {
        malId: 1535,
        title: "Death Note",
        status: "completed",
        episodesWatched: 37,
        score: 9,
        rewatches: 1,
        startedOn: "2024-01-05",
        finishedOn: "2024-02-11",
        notes: "L & Light, <spoilers>",
      },
      // a month-only start date (2023-05-00) is no date; score 0 is none
      { malId: 5114, title: "Fullmetal Alchemist: Brotherhood", status: "watching", episodesWatched: 20, score: null, rewatches: 0, startedOn: null, finishedOn: null, notes: "" },
      { malId: 30, title: "Neon Genesis Evangelion", status: "on_hold", episodesWatched: 13, score: 7, rewatches: 0, startedOn: "2022-10-01", finishedOn: null, notes: "" },
      // finished before started: the finish date is dropped
      { malId: 269, title: "Bleach", status: "dropped", episodesWatched: 110, score: 5, rewatches: 0, startedOn: "2019-03-14", finishedOn: null, notes: "fillers..." },
      { malId: 21, title: "One Piece", status: "plan_to_watch", episodesWatched: 0, score: null, rewatches: 0, startedOn: null, finishedOn: null, notes: "" },
      { malId: 199, title: "Sen to Chihiro no Kamikakushi", status: "completed", episodesWatched: 1, score: 10, rewatches: 3, startedOn: "2010-07-20", finishedOn: "2010-07-20", notes: "千と千尋 — again & again" },
    ]);
  });

  test("statuses: MyAnimeList's words in any case and spacing, its numeric codes; anything else is plan_to_watch", () => {
    const cases: [string, ListStatus][] = [
      ["Watching", "watching"],
      ["WATCHING", "watching"],
      ["1", "watching"],
      ["Completed", "completed"],
      ["completed", "completed"],
      ["2", "completed"],
      ["On-Hold", "on_hold"],
      ["on hold", "on_hold"],
      ["ON_HOLD", "on_hold"],
      ["3", "on_hold"],
      ["Dropped", "dropped"],
      [" dropped ", "dropped"],
      ["4", "dropped"],
      ["Plan to Watch", "plan_to_watch"],
      ["plan_to_watch", "plan_to_watch"],
      ["PlanToWatch", "plan_to_watch"],
      ["6", "plan_to_watch"],
      ["5", "plan_to_watch"],
      ["Reading", "plan_to_watch"],
      ["", "plan_to_watch"],
      ["<![CDATA[Watching]]>", "watching"],
    ];
    for (const [word, status] of cases) expect([word, onlyEntry({ my_status: word }).status]).toEqual([word, status]);
    expect(onlyEntry({ my_status: undefined }).status).toBe("plan_to_watch");
  });

  test("my_score: 1–10 kept, 0 and anything outside 1–10 or not an integer is none", () => {
    for (const score of [1, 5, 10]) expect(onlyEntry({ my_score: String(score) }).score).toBe(score);
    for (const raw of ["0", "11", "-1", "7.5", "abc", "", "99999999999999999999"]) expect([raw, onlyEntry({ my_score: raw }).score]).toEqual([raw, null]);
    expect(onlyEntry({ my_score: " 8 " }).score).toBe(8);
    expect(onlyEntry({ my_score: undefined }).score).toBeNull();
  });

  test("my_times_watched: rewatches clamped to 0–1000", () => {
    expect(onlyEntry({ my_times_watched: "0" }).rewatches).toBe(0);
    expect(onlyEntry({ my_times_watched: "1000" }).rewatches).toBe(1000);
    expect(onlyEntry({ my_times_watched: "1001" }).rewatches).toBe(1000);
    expect(onlyEntry({ my_times_watched: "123456789012345678901234567890" }).rewatches).toBe(1000);
    expect(onlyEntry({ my_times_watched: "-3" }).rewatches).toBe(0);
    expect(onlyEntry({ my_times_watched: "x" }).rewatches).toBe(0);
  });

  test("my_watched_episodes: the raw non-negative count (the service clamps to the anime), bounded by MAL_LIMITS.episodes", () => {
    expect(onlyEntry({ my_watched_episodes: "500", series_episodes: "12" }).episodesWatched).toBe(500);
    expect(onlyEntry({ my_watched_episodes: "99999999999" }).episodesWatched).toBe(MAL_LIMITS.episodes);
    expect(onlyEntry({ my_watched_episodes: "-2" }).episodesWatched).toBe(0);
    expect(onlyEntry({ my_watched_episodes: undefined }).episodesWatched).toBe(0);
  });

  test("dates: real calendar days kept; 0000-00-00, impossible, partial or garbled dates are none", () => {
    const kept = ["2024-02-29", "2000-02-29", "1999-12-31", "0001-01-01", "9999-12-31"];
    for (const date of kept) expect(onlyEntry({ my_start_date: date }).startedOn).toBe(date);
    const none = ["0000-00-00", "2023-02-29", "1900-02-29", "2023-02-30", "2023-04-31", "2023-13-01", "2023-05-00", "2023-00-00", "2023-5-1", "20230501", "2023-05-01T00:00:00Z", "yesterday", ""];
    for (const date of none) expect([date, onlyEntry({ my_start_date: date }).startedOn]).toEqual([date, null]);
    expect(onlyEntry({ my_finish_date: " 2024-03-01 " }).finishedOn).toBe("2024-03-01");
  });

  test("a finish date before the start date is dropped; the same day is kept", () => {
    expect(onlyEntry({ my_start_date: "2024-01-05", my_finish_date: "2024-01-04" })).toMatchObject({ startedOn: "2024-01-05", finishedOn: null });
    expect(onlyEntry({ my_start_date: "2024-01-05", my_finish_date: "2024-01-05" })).toMatchObject({ startedOn: "2024-01-05", finishedOn: "2024-01-05" });
    expect(onlyEntry({ my_start_date: "0000-00-00", my_finish_date: "2024-01-04" })).toMatchObject({ startedOn: null, finishedOn: "2024-01-04" });
  });

  test("my_comments become notes, exactly (escaped or CDATA), clamped to 2000 code points without splitting a pair", () => {
    expect(onlyEntry({ my_comments: "<![CDATA[ a ]]>&amp;<![CDATA[b\n\tc ]]>&#x1F38C;" }).notes).toBe(" a &b\n\tc 🎌");
    expect(onlyEntry({ my_comments: `<![CDATA[${"x".repeat(2500)}]]>` }).notes).toBe("x".repeat(2000));
    const emoji = "🎌".repeat(2001);
    const clamped = onlyEntry({ my_comments: `<![CDATA[${emoji}]]>` }).notes;
    expect([...clamped]).toHaveLength(2000);
    expect(clamped).toBe("🎌".repeat(2000));
    expect(onlyEntry({ my_comments: undefined }).notes).toBe("");
  });

  test("a duplicated series_animedb_id: the last one wins and is counted", () => {
    const parsed = parseMalExport(exportOf(anime({ my_score: "3" }), anime({ series_animedb_id: "1", my_score: "4" }), anime({ my_score: "8" })));
    expect(parsed.entries.map((entry) => [entry.malId, entry.score])).toEqual([
      [1, 4],
      [1535, 8],
    ]);
    expect(parsed.duplicates).toBe(1);
  });

  test("an absent or non-numeric series_animedb_id: the entry is listed as invalid with its title, never matched", () => {
    const parsed = parseMalExport(
      exportOf(
        anime({ series_animedb_id: undefined, series_title: "<![CDATA[No id]]>" }),
        anime({ series_animedb_id: "abc", series_title: "<![CDATA[Letters]]>" }),
        anime({ series_animedb_id: "0", series_title: "<![CDATA[Zero]]>" }),
        anime({ series_animedb_id: "-7", series_title: "<![CDATA[Negative]]>" }),
        anime({ series_animedb_id: "2147483648", series_title: "<![CDATA[Too big]]>" }),
        anime({ series_animedb_id: " 42 " }),
      ),
    );
    expect(parsed.entries.map((entry) => entry.malId)).toEqual([42]);
    expect(parsed.invalid).toEqual([
      { id: "", title: "No id" },
      { id: "abc", title: "Letters" },
      { id: "0", title: "Zero" },
      { id: "-7", title: "Negative" },
      { id: "2147483648", title: "Too big" },
    ]);
  });

  test("an export with no entries, a BOM, unknown extra elements and comments is read", () => {
    expect(parseMalExport(`\uFEFF<?xml version="1.0"?><myanimelist>${MYINFO}</myanimelist>`).entries).toEqual([]);
    expect(parseMalExport(`\n\r\n  <?xml version="1.0" encoding="UTF-8" ?>\n<myanimelist>${anime()}</myanimelist>`).entries).toHaveLength(1);
    const extra = parseMalExport(`<myanimelist><!-- hi --><?pi x?><extra><a>1</a></extra>${anime({ my_new_field: "<b>x</b>" })}</myanimelist>`);
    expect(extra.entries.map((entry) => entry.malId)).toEqual([1535]);
    // text of an element nested in a field does not leak into it
    expect(onlyEntry({ my_comments: "a<b>hidden</b>c" }).notes).toBe("ac");
  });

  test("a manga export is refused as such", async () => {
    expect(refusal(await Bun.file(`${FIXTURES}/mal-manga-export.xml`).text())).toContain("manga");
    expect(refusal("<myanimelist><manga><manga_mangadb_id>2</manga_mangadb_id></manga></myanimelist>")).toContain("manga");
  });

  test("a 5,000-entry export is read whole", () => {
    const animes = Array.from({ length: 5000 }, (_, i) => anime({ series_animedb_id: String(i + 1), my_watched_episodes: String(i % 30) }));
    const parsed = parseMalExport(exportOf(...animes));
    expect(parsed.entries).toHaveLength(5000);
    expect(parsed.entries[4999]).toMatchObject({ malId: 5000, episodesWatched: 4999 % 30 });
  });

  test(`more than ${MAL_LIMITS.entries} entries is not a real export: refused before they pile up`, () => {
    const many = (count: number) =>
      `<myanimelist>${Array.from({ length: count }, (_, i) => `<anime><series_animedb_id>${i + 1}</series_animedb_id></anime>`).join("")}</myanimelist>`;
    expect(refusal(many(MAL_LIMITS.entries + 1))).toContain(`more than ${MAL_LIMITS.entries} entries`);
    expect(parseMalExport(many(MAL_LIMITS.entries)).entries).toHaveLength(MAL_LIMITS.entries);
    // entries without an id count as well
    const invalid = `<myanimelist>${"<anime><series_animedb_id>x</series_animedb_id></anime>".repeat(MAL_LIMITS.entries + 1)}</myanimelist>`;
    expect(refusal(invalid)).toContain(`more than ${MAL_LIMITS.entries} entries`);
  });
});

describe("parseMalExport: hostile and foreign documents are refused with the reason", () => {
  test("billion laughs: refused at its DOCTYPE, nothing expanded", () => {
    const lol = ["<!ENTITY lol0 \"lol\">"];
    for (let i = 1; i <= 9; i++) lol.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE myanimelist [${lol.join("\n")}]>\n<myanimelist><anime><series_title>&lol9;</series_title></anime></myanimelist>`;
    expect(refusal(xml)).toContain("DOCTYPE");
  });

  test("an external entity (SYSTEM file:///etc/passwd) and a parameter entity: refused, nothing read", () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE myanimelist [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><myanimelist><anime><series_animedb_id>1</series_animedb_id><my_comments>&xxe;</my_comments></anime></myanimelist>`;
    expect(refusal(xxe)).toContain("DOCTYPE");
    const parameter = `<!DOCTYPE x [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]><myanimelist/>`;
    expect(refusal(parameter)).toContain("DOCTYPE");
    const publicId = `<!DOCTYPE myanimelist PUBLIC "-//x//y" "http://127.0.0.1:1/x.dtd"><myanimelist/>`;
    expect(refusal(publicId)).toContain("DOCTYPE");
  });

  test("a DOCTYPE alone is refused too", () => {
    expect(refusal("<!DOCTYPE myanimelist><myanimelist></myanimelist>")).toContain("DOCTYPE");
  });

  test("an entity used without being declared is not well-formed (never left in the text)", () => {
    expect(refusal(exportOf(anime({ my_comments: "&lol9;" })))).toContain("not well-formed XML");
  });

  test("valid XML of another shape, JSON, HTML, plain text", () => {
    expect(refusal(`<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>`)).toContain("root element is <rss>");
    expect(refusal(`<html><body>hello</body></html>`)).toContain("not <myanimelist>");
    expect(refusal(`{"anime": []}`)).toContain("not well-formed XML");
    expect(refusal("just some text")).toContain("not well-formed XML");
    expect(refusal("")).toContain("empty");
    expect(refusal("  \n\t ")).toContain("empty");
  });

  test("malformed documents: two roots, text outside the root, mismatched tags, a bad character reference", () => {
    expect(refusal("<myanimelist></myanimelist><myanimelist></myanimelist>")).toContain("not well-formed XML");
    expect(refusal("<myanimelist></myanimelist>trailing")).toContain("not well-formed XML");
    expect(refusal("<myanimelist><anime></myanimelist></anime>")).toContain("not well-formed XML");
    expect(refusal(exportOf(anime({ my_comments: "&#0;" })))).toContain("not well-formed XML");
    expect(refusal(exportOf(anime({ my_comments: "a < b" })))).toContain("not well-formed XML");
  });

  test("every truncation of a real export is refused as not well-formed", async () => {
    const xml = await Bun.file(`${FIXTURES}/mal-anime-export.xml`).text();
    const end = xml.lastIndexOf("</myanimelist>") + "</myanimelist>".length;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: end - 1 }), (cut) => {
        const reason = refusal(xml.slice(0, cut));
        return reason.includes("not well-formed XML") || reason.includes("empty");
      }),
      { numRuns: 300 },
    );
  });

  test("deep nesting and piles of attributes are refused early", () => {
    expect(refusal(`<myanimelist>${"<a>".repeat(1_000_000)}`)).toContain("nest deeper");
    const attributes = Array.from({ length: 100_000 }, (_, i) => `a${i}=""`).join(" ");
    expect(refusal(`<myanimelist ${attributes}></myanimelist>`)).toContain("attributes");
  });

  test("a 16 MiB DOCTYPE is refused at once as a DOCTYPE (after a declaration and comments too)", () => {
    const subset = "<!ENTITY a 'b'>".repeat(MiB);
    expect(refusal(`<?xml version="1.0"?>\n<!-- x --><?pi y?>\n<!DOCTYPE x [${subset}]><myanimelist/>`)).toContain("DOCTYPE");
  });

  test("16 MiB texts, CDATA, comments, attributes made of millions of pieces are refused, memory bounded", () => {
    const fill = (unit: string) => unit.repeat(Math.floor((16 * MiB) / unit.length));
    const inNotes = (inner: string) => exportOf(anime({ my_comments: inner }));
    const hostile: [string, () => string][] = [
      ["entities in a text", () => inNotes(fill("&amp;"))],
      ["CR LF line ends", () => inNotes(fill("\r\n"))],
      ["] in CDATA", () => inNotes(`<![CDATA[${fill("]x")}]]>`)],
      ["- in a comment", () => `<myanimelist><!--${fill("-a")}--></myanimelist>`],
      ["? in a processing instruction", () => `<myanimelist><?pi ${fill("?a")}?></myanimelist>`],
      ["entities in an attribute", () => `<myanimelist a="${fill("&#38;")}"></myanimelist>`],
      ["one plain text", () => inNotes(fill("x"))],
    ];
    for (const [what, make] of hostile) {
      let xml: string | undefined = make();
      Bun.gc(true);
      const before = process.memoryUsage().rss;
      const reason = refusal(xml);
      const grownMiB = (process.memoryUsage().rss - before) / MiB;
      xml = undefined;
      expect([what, reason]).toEqual([what, "The file has a text, comment or attribute longer than 64 KiB: a MyAnimeList export has none."]);
      // (unbounded, these grew the process by 400–800 MiB)
      expect([what, grownMiB < 150]).toEqual([what, true]);
    }
  });

  test("a long comment is kept up to the limit, whatever pieces it comes in", () => {
    const piece = `<![CDATA[${"y".repeat(60 * 1024)}]]>`;
    expect(onlyEntry({ my_comments: piece.repeat(10) }).notes).toBe("y".repeat(MAL_LIMITS.notes));
  });

  test("20 MiB of XML that is not an export, and 20 MiB of garbage, are refused", () => {
    const notes = "x".repeat(1024);
    const big = `<myanimelist>${anime({ my_comments: `<![CDATA[${notes}]]>` }).repeat(20 * 1024)}</myanimelist>`;
    expect(big.length).toBeGreaterThan(20 * MiB);
    // (the route refuses this size before parsing; the parser alone still reads it, one entry)
    expect(parseMalExport(big).entries).toHaveLength(1);
    expect(refusal(`<rss>${big}</rss>`)).toContain("root element is <rss>");
    expect(refusal("\u0000".repeat(20 * MiB))).toContain("not well-formed XML");
  });

  test("any string and any mutation of a valid export: parsed, or refused with a MalFormatError (never another failure)", async () => {
    const xml = await Bun.file(`${FIXTURES}/mal-anime-export.xml`).text();
    const outcome = (text: string) => {
      try {
        parseMalExport(text);
        return true;
      } catch (error) {
        return error instanceof MalFormatError && error.message.length > 0;
      }
    };
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), outcome), { numRuns: 500 });
    const mutation = fc.record({ at: fc.nat(xml.length - 1), cut: fc.nat(40), insert: fc.string({ unit: "binary", maxLength: 20 }) });
    fc.assert(
      fc.property(mutation, ({ at, cut, insert }) => outcome(xml.slice(0, at) + insert + xml.slice(at + cut))),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

const USER = { id: 42, username: "lumo_tester" };

const exportEntry = (overrides: Partial<ExportEntry> = {}): ExportEntry => ({
  malId: 1535,
  title: "Death Note",
  type: "TV",
  numEpisodes: 37,
  status: "completed",
  episodesWatched: 37,
  score: 9,
  rewatches: 1,
  startedOn: "2024-01-05",
  finishedOn: null,
  notes: "notes here",
  ...overrides,
});

/** The element names in document order, and each field's text as written (CDATA kept). */
const elementNames = (xml: string) => [...xml.matchAll(/<([a-z_]+)>/g)].map((match) => match[1]);

describe("serializeMalExport", () => {
  test("writes MyAnimeList's export, field for field, in its order", () => {
    const xml = serializeMalExport(USER, [exportEntry()], 0);
    expect(xml.startsWith(`<?xml version="1.0" encoding="UTF-8" ?>\n<myanimelist>\n`)).toBe(true);
    expect(elementNames(xml)).toEqual([
      "myanimelist",
      "myinfo",
      "user_id",
      "user_name",
      "user_export_type",
      "user_total_anime",
      "user_total_watching",
      "user_total_completed",
      "user_total_onhold",
      "user_total_dropped",
      "user_total_plantowatch",
      "anime",
      "series_animedb_id",
      "series_title",
      "series_type",
      "series_episodes",
      "my_id",
      "my_watched_episodes",
      "my_start_date",
      "my_finish_date",
      "my_rated",
      "my_score",
      "my_storage",
      "my_storage_value",
      "my_status",
      "my_comments",
      "my_times_watched",
      "my_rewatch_value",
      "my_priority",
      "my_tags",
      "my_rewatching",
      "my_rewatching_ep",
      "my_discuss",
      "my_sns",
      "update_on_import",
    ]);
    for (const line of [
      "<user_id>42</user_id>",
      "<user_name>lumo_tester</user_name>",
      "<user_export_type>1</user_export_type>",
      "<user_total_anime>1</user_total_anime>",
      "<user_total_completed>1</user_total_completed>",
      "<user_total_watching>0</user_total_watching>",
      "<series_animedb_id>1535</series_animedb_id>",
      "<series_title><![CDATA[Death Note]]></series_title>",
      "<series_type>TV</series_type>",
      "<series_episodes>37</series_episodes>",
      "<my_watched_episodes>37</my_watched_episodes>",
      "<my_start_date>2024-01-05</my_start_date>",
      "<my_finish_date>0000-00-00</my_finish_date>",
      "<my_score>9</my_score>",
      "<my_status>Completed</my_status>",
      "<my_comments><![CDATA[notes here]]></my_comments>",
      "<my_times_watched>1</my_times_watched>",
      "<update_on_import>1</update_on_import>",
    ]) {
      expect(xml).toContain(line);
    }
    expect(xml).not.toContain("<!--");
  });

  test("statuses as MyAnimeList's words, totals per status, no score as 0", () => {
    const statuses: [ListStatus, string][] = [
      ["watching", "Watching"],
      ["completed", "Completed"],
      ["on_hold", "On-Hold"],
      ["dropped", "Dropped"],
      ["plan_to_watch", "Plan to Watch"],
    ];
    const entries = statuses.map(([status], i) => exportEntry({ malId: i + 1, status, score: null }));
    const xml = serializeMalExport(USER, entries, 0);
    for (const [, word] of statuses) expect(xml).toContain(`<my_status>${word}</my_status>`);
    for (const total of ["watching", "completed", "onhold", "dropped", "plantowatch"]) expect(xml).toContain(`<user_total_${total}>1</user_total_${total}>`);
    expect(xml).toContain("<user_total_anime>5</user_total_anime>");
    expect(xml.match(/<my_score>0<\/my_score>/g)).toHaveLength(5);
  });

  test("entries left out for want of a MyAnimeList id are counted in a comment", () => {
    expect(serializeMalExport(USER, [], 3)).toContain("<!-- 3 entries without a MyAnimeList id were left out -->");
    expect(serializeMalExport(USER, [], 1)).toContain("<!-- 1 entry without a MyAnimeList id was left out -->");
    expect(parseMalExport(serializeMalExport(USER, [], 3)).entries).toEqual([]);
  });

  test("entries in MyAnimeList id order whatever the input order", () => {
    const entries = [3, 1, 2].map((malId) => exportEntry({ malId }));
    const xml = serializeMalExport(USER, entries, 0);
    expect([...xml.matchAll(/<series_animedb_id>(\d+)</g)].map((match) => match[1])).toEqual(["1", "2", "3"]);
    expect(serializeMalExport(USER, entries.toReversed(), 0)).toBe(xml);
  });

  test("text that would break XML survives: ]]> in CDATA, & < > in the user name, CR, characters XML cannot carry are dropped", () => {
    const notes = "a]]>b ]]]]> <![CDATA[ & < > \r\n\r end";
    const entry = exportEntry({ title: "Re:Zero ]]> <Kara> & \"Hajimeru\"", notes: `${notes}\u0001\uFFFF\uD800` });
    const xml = serializeMalExport({ id: 1, username: "a&b<c>" }, [entry], 0);
    expect(xml).toContain("<user_name>a&amp;b&lt;c&gt;</user_name>");
    const [parsed] = parseMalExport(xml).entries;
    expect(parsed?.title).toBe(entry.title);
    expect(parsed?.notes).toBe(notes);
    expect(xmlCharactersOnly("ok\u0000\u0008\u000B\u000C\u001F\uFFFE\uDC00🎌\t\n\r")).toBe("ok🎌\t\n\r");
  });
});

// Generated lists for the round trip: strings mixing arbitrary code points with the pieces that break
// naive writers, limited to what XML can carry (the service stores only such text).
const tricky = fc.constantFrom("]]>", "]]", "]", ">", "<![CDATA[", "&", "&amp;", "<", "\r", "\r\n", "\n", "\t", " ", "é", "🎌", "\u2028", "\uFEFF", "千");
const text = (maxCodePoints: number) =>
  fc
    .array(fc.oneof(tricky, fc.string({ unit: "binary", maxLength: 20 })), { maxLength: 30 })
    .map((parts) => [...xmlCharactersOnly(parts.join(""))].slice(0, maxCodePoints).join(""));
const date = fc
  .date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const dates = fc
  .tuple(fc.option(date), fc.option(date))
  .map(([a, b]): [string | null, string | null] => (a !== null && b !== null && b < a ? [b, a] : [a, b]));
const generatedEntry: fc.Arbitrary<ExportEntry> = fc
  .record({
    malId: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: MAL_LIMITS.maxId })),
    title: text(200),
    type: fc.constantFrom(...ANIME_TYPES),
    numEpisodes: fc.integer({ min: 0, max: 100_000 }),
    status: fc.constantFrom<ListStatus>("watching", "completed", "on_hold", "dropped", "plan_to_watch"),
    episodesWatched: fc.oneof(fc.constantFrom(0, MAL_LIMITS.episodes), fc.integer({ min: 0, max: MAL_LIMITS.episodes })),
    score: fc.option(fc.integer({ min: 1, max: 10 })),
    rewatches: fc.oneof(fc.constantFrom(0, 1000), fc.integer({ min: 0, max: 1000 })),
    dates,
    notes: fc.oneof(text(MAL_LIMITS.notes), fc.constant("x]]>".repeat(500))),
  })
  .map(({ dates: [startedOn, finishedOn], ...rest }) => ({ ...rest, startedOn, finishedOn }));

const carried = ({ malId, title, status, episodesWatched, score, rewatches, startedOn, finishedOn, notes }: MalEntry): MalEntry => ({
  malId,
  title,
  status,
  episodesWatched,
  score,
  rewatches,
  startedOn,
  finishedOn,
  notes,
});

describe("round trip", () => {
  test("serialize then parse gives back every field the format carries, identically", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(generatedEntry, { selector: (entry) => entry.malId, maxLength: 40 }),
        fc.nat(5),
        fc.record({ id: fc.nat(), username: text(30) }),
        (entries, omitted, user) => {
          const parsed = parseMalExport(serializeMalExport(user, entries, omitted));
          expect(parsed.invalid).toEqual([]);
          expect(parsed.duplicates).toBe(0);
          expect(parsed.entries).toEqual(entries.map(carried).sort((a, b) => a.malId - b.malId));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("the parse is the same whatever the slices the parser is fed, and async", async () => {
    const xml = serializeMalExport(USER, fc.sample(fc.uniqueArray(generatedEntry, { selector: (entry) => entry.malId, maxLength: 30 }), 1)[0] ?? [], 2);
    const whole = parseMalExport(xml);
    expect(await parseMalExportAsync(xml)).toEqual(whole);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), (sliceChars) => {
        expect(parseMalExport(xml, { sliceChars })).toEqual(whole);
      }),
      { numRuns: 40 },
    );
    // a surrogate pair or a CR LF split between slices
    const split = exportOf(anime({ my_comments: "<![CDATA[🎌\r\n🎌]]>" }));
    for (let sliceChars = 1; sliceChars < 12; sliceChars++) expect(parseMalExport(split, { sliceChars }).entries[0]?.notes).toBe("🎌\n🎌");
  });

  test("the fixture's entries survive a round trip through the serializer", async () => {
    const { entries } = parseMalExport(await Bun.file(`${FIXTURES}/mal-anime-export.xml`).text());
    const again = parseMalExport(serializeMalExport(USER, entries.map((entry) => ({ ...entry, type: "TV", numEpisodes: 0 })), 0));
    expect(again.entries).toEqual([...entries].sort((a, b) => a.malId - b.malId));
  });
});

// ---------------------------------------------------------------------------------------------

const LIMIT = 16 * MiB;
const upload = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request("http://127.0.0.1/list/import", { method: "POST", body, headers });

/** The HttpError a read ends with (fails the test if it succeeds). */
async function rejection(request: Request, limit = LIMIT): Promise<{ status: number; body: unknown }> {
  try {
    await readImportBody(request, limit);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return { status: (error as HttpError).status, body: (error as HttpError).body };
  }
  throw new Error("the body was accepted");
}

const TOO_LARGE = { status: 413, body: { detail: "Request body too large." } };

/** gzip of `size` zero bytes, made a MiB at a time so the test never holds the inflated bytes. */
async function gzippedZeros(size: number): Promise<Uint8Array<ArrayBuffer>> {
  const gzip = createGzip({ level: 1 });
  const parts: Buffer[] = [];
  gzip.on("data", (part: Buffer) => parts.push(part));
  const zeros = Buffer.alloc(MiB);
  for (let written = 0; written < size; written += MiB) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once("drain", resolve));
  }
  await new Promise((resolve) => gzip.end(resolve));
  return Buffer.concat(parts);
}

/**
 * Runs `work` and returns how far the process's RSS rose above where it started (peak, sampled), a
 * coarse bound: the process holds whatever earlier tests left, so the growth is what is measured.
 */
async function withRssGrowth<T>(work: () => Promise<T>): Promise<{ outcome: T; grownMiB: number }> {
  Bun.gc(true);
  const start = process.memoryUsage().rss;
  let peak = start;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 2);
  try {
    const outcome = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { outcome, grownMiB: (peak - start) / MiB };
  } finally {
    clearInterval(sampler);
  }
}

describe("readImportBody", () => {
  const xml = exportOf(anime());

  test("a plain body, with or without a BOM, is the text", async () => {
    expect(await readImportBody(upload(xml), LIMIT)).toBe(xml);
    expect(await readImportBody(upload(`\uFEFF${xml}`), LIMIT)).toBe(xml);
    expect(await readImportBody(upload(null), LIMIT)).toBe("");
  });

  test("gzip by Content-Encoding, by the magic bytes of a raw .xml.gz, and a .xml.gz sent with Content-Encoding: gzip", async () => {
    const gz = Bun.gzipSync(new TextEncoder().encode(xml));
    expect(await readImportBody(upload(gz, { "Content-Encoding": "gzip" }), LIMIT)).toBe(xml);
    expect(await readImportBody(upload(gz, { "content-encoding": " GZIP " }), LIMIT)).toBe(xml);
    expect(await readImportBody(upload(gz, { "Content-Type": "application/gzip" }), LIMIT)).toBe(xml);
    expect(await readImportBody(upload(Bun.gzipSync(gz), { "Content-Encoding": "gzip" }), LIMIT)).toBe(xml);
  });

  test("MyAnimeList's own .xml.gz (made by gzip, with its file name in the header) reads as the export", async () => {
    const file = await Bun.file(`${FIXTURES}/animelist_1700000000_1234567.xml.gz`).bytes();
    const text = await readImportBody(upload(file), LIMIT);
    expect(text).toBe(await Bun.file(`${FIXTURES}/mal-anime-export.xml`).text());
    expect(parseMalExport(text).entries).toHaveLength(6);
  });

  test("a body past the limit is 413, whether declared by Content-Length or not", async () => {
    expect(await rejection(upload("x".repeat(1025)), 1024)).toEqual(TOO_LARGE);
    expect(await rejection(upload("x", { "Content-Length": String(LIMIT + 1) }))).toEqual(TOO_LARGE);
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(300));
        controller.close();
      },
    });
    expect(await rejection(upload(chunks), 1024)).toEqual(TOO_LARGE);
    expect(await readImportBody(upload("x".repeat(1024)), 1024)).toHaveLength(1024);
  });

  test("a 20 MiB export is 413, plain or gzip-compressed", async () => {
    const big = exportOf(anime({ my_comments: `<![CDATA[${"n".repeat(20 * MiB)}]]>` }));
    expect(await rejection(upload(big))).toEqual(TOO_LARGE);
    const gz = Bun.gzipSync(new TextEncoder().encode(big));
    expect(gz.byteLength).toBeLessThan(LIMIT);
    expect(await rejection(upload(gz))).toEqual(TOO_LARGE);
    expect(await rejection(upload(gz, { "Content-Encoding": "gzip" }))).toEqual(TOO_LARGE);
  });

  test("a gzip bomb (1 GiB of zeros in one member) is stopped at the limit: 413, memory bounded", async () => {
    const bomb = await gzippedZeros(1024 * MiB);
    expect(bomb.byteLength).toBeLessThan(LIMIT);
    const { outcome, grownMiB } = await withRssGrowth(() => rejection(upload(bomb)));
    expect(outcome).toEqual(TOO_LARGE);
    expect(grownMiB).toBeLessThan(100);
  }, 30_000);

  test("a gzip bomb of many members (1,024 × 1 MiB of zeros in 1 MiB of gzip) is stopped at the limit too", async () => {
    const member = Bun.gzipSync(new Uint8Array(MiB), { level: 9 });
    const bomb = new Uint8Array(member.byteLength * 1024);
    for (let i = 0; i < 1024; i++) bomb.set(member, i * member.byteLength);
    const { outcome, grownMiB } = await withRssGrowth(() => rejection(upload(bomb, { "Content-Encoding": "gzip" })));
    expect(outcome).toEqual(TOO_LARGE);
    expect(grownMiB).toBeLessThan(100);
  }, 30_000);

  test("truncated or corrupt gzip is 400 saying so", async () => {
    const gz = Bun.gzipSync(new TextEncoder().encode(exportOf(...Array.from({ length: 50 }, (_, i) => anime({ series_animedb_id: String(i + 1) })))));
    const corrupt = (mutate: (bytes: Uint8Array) => void) => {
      const copy = gz.slice();
      mutate(copy);
      return copy;
    };
    const broken = [
      gz.slice(0, gz.byteLength - 4), // trailer cut
      gz.slice(0, gz.byteLength >> 1), // cut in the middle
      gz.slice(0, 3), // header cut
      corrupt((bytes) => (bytes[gz.byteLength - 8] = (bytes[gz.byteLength - 8] ?? 0) ^ 0xff)), // CRC
      corrupt((bytes) => bytes.fill(0xaa, 20, 60)), // the deflate data
      new Uint8Array([...gz, 1, 2, 3]), // garbage after the member
    ];
    for (const body of broken) {
      const { status, body: answer } = await rejection(upload(body));
      expect(status).toBe(400);
      expect((answer as { detail: string }).detail).toContain("truncated or corrupt");
    }
  });

  test("a body whose stream fails midway (the client went away) is 400, not a 500", async () => {
    let sent = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 3) controller.enqueue(new TextEncoder().encode("<myanimelist>"));
        else controller.error(new Error("connection reset"));
      },
    });
    const { status, body } = await rejection(upload(failing));
    expect(status).toBe(400);
    expect((body as { detail: string }).detail).toContain("could not be read to its end");
  });

  test("Content-Encoding gzip on a body that is not gzip, an unsupported encoding, bytes that are not UTF-8: 400 saying why", async () => {
    const notGzip = await rejection(upload(xml, { "Content-Encoding": "gzip" }));
    expect(notGzip).toEqual({ status: 400, body: { detail: "Content-Encoding says gzip but the body is not gzip-compressed." } });
    const brotli = await rejection(upload(xml, { "Content-Encoding": "br" }));
    expect(brotli.status).toBe(400);
    expect((brotli.body as { detail: string }).detail).toContain('Content-Encoding "br" is not supported');
    const latin1 = await rejection(upload(new Uint8Array([0x3c, 0x61, 0xe9, 0x3e])));
    expect(latin1).toEqual({ status: 400, body: { detail: "The file is not UTF-8 text, which a MyAnimeList export is." } });
  });
});
