// Schemas of the list routes (Part 2 of the contract, "The list" and "Public lists"): they validate
// input and document the API. Types come from them.
import { t } from "elysia";
import { Anime, AnimeFilterQuery } from "../shared/anime-filters.ts";

export const LIST_STATUSES = ["watching", "completed", "on_hold", "dropped", "plan_to_watch"] as const;
export type ListStatus = (typeof LIST_STATUSES)[number];

export const MAX_LIST_ENTRIES = 10_000;
export const MAX_NOTES = 2000;
export const MAX_REWATCHES = 1000;
/** No anime has more; it keeps an entry of an anime with unknown episodes (0) within an integer. */
export const MAX_EPISODES = 100_000;
export const SCORE_RANGE = { min: 1, max: 10 } as const;
export const PAGE_SIZE = { min: 1, max: 500, default: 100 } as const;
export const SORTS = ["-updated", "updated", "title", "-title", "score", "-score"] as const;
export type ListSort = (typeof SORTS)[number];
export const IMPORT_MODES = ["merge", "replace"] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];
/** The import's body limit (this route only; every other body has BODY_LIMIT). */
export const IMPORT_LIMIT_BYTES = 16 * 1024 * 1024;

export const DATE_MESSAGE = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.";

const ListStatusSchema = t.Union(
  LIST_STATUSES.map((status) => t.Literal(status)),
  { description: LIST_STATUSES.join(", ") },
);

const date = (description: string) =>
  t.Union([t.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", error: DATE_MESSAGE, examples: ["2024-01-05"] }), t.Null()], { description });


const ENTRY_EXAMPLE = {
  anime: Anime.examples[0],
  status: "watching",
  episodes_watched: 3,
  score: 8,
  rewatches: 0,
  private: false,
  started_on: "2024-01-05",
  finished_on: null,
  notes: "",
  created: "2024-01-05T10:00:00.000Z",
  updated: "2024-01-07T21:13:05.120Z",
};


const entryFields = {
  anime: Anime,
  status: ListStatusSchema,
  episodes_watched: t.Integer({ minimum: 0 }),
  score: t.Union([t.Integer({ minimum: 1, maximum: 10 }), t.Null()]),
  rewatches: t.Integer({ minimum: 0, maximum: MAX_REWATCHES }),
  private: t.Boolean(),
  started_on: t.Union([t.String(), t.Null()]),
  finished_on: t.Union([t.String(), t.Null()]),
  notes: t.String(),
  created: t.String({ description: "ISO 8601, UTC" }),
  updated: t.String({ description: "ISO 8601, UTC" }),
};

export const ListEntry = t.Object(entryFields, { examples: [ENTRY_EXAMPLE] });

const { notes: _notes, ...publicFields } = entryFields;
const { notes: _exampleNotes, ...PUBLIC_ENTRY_EXAMPLE } = ENTRY_EXAMPLE;
export const PublicListEntry = t.Object(publicFields, { examples: [PUBLIC_ENTRY_EXAMPLE] });

const page = <T extends typeof ListEntry | typeof PublicListEntry>(entry: T, example: unknown, path: string) =>
  t.Object(
    { count: t.Integer(), next: t.Union([t.String(), t.Null()]), previous: t.Union([t.String(), t.Null()]), results: t.Array(entry) },
    { examples: [{ count: 120, next: `https://api.example.com${path}?page=2`, previous: null, results: [example] }] },
  );
export const ListPage = page(ListEntry, ENTRY_EXAMPLE, "/list");
export const PublicListPage = page(PublicListEntry, PUBLIC_ENTRY_EXAMPLE, "/users/test/list");

const entryBodyFields = {
  episodes_watched: t.Optional(
    t.Integer({ minimum: 0, maximum: MAX_EPISODES, description: "At most the anime's num_episodes when that is above 0" }),
  ),
  score: t.Optional(t.Union([t.Integer({ minimum: SCORE_RANGE.min, maximum: SCORE_RANGE.max }), t.Null()], { description: "1–10, or null" })),
  rewatches: t.Optional(t.Integer({ minimum: 0, maximum: MAX_REWATCHES })),
  private: t.Optional(t.Boolean({ description: "Left out of the public views of the list" })),
  started_on: t.Optional(date("YYYY-MM-DD, or null")),
  finished_on: t.Optional(date("YYYY-MM-DD, or null; not before started_on")),
  notes: t.Optional(t.String({ description: `At most ${MAX_NOTES} characters` })),
};

export const PutEntryBody = t.Object(
  { status: ListStatusSchema, ...entryBodyFields },
  { examples: [{ status: "watching", episodes_watched: 3, score: 8, started_on: "2024-01-05" }] },
);
export type PutEntryBody = typeof PutEntryBody.static;

export const PatchEntryBody = t.Object(
  { status: t.Optional(ListStatusSchema), ...entryBodyFields },
  { examples: [{ episodes_watched: 4 }, { status: "completed", finished_on: "2024-02-01" }] },
);
export type PatchEntryBody = typeof PatchEntryBody.static;

export const AnimeIdParams = t.Object({ anime_id: t.String({ description: "The anime's id (a positive integer)", examples: ["18562"] }) });
export const UsernameParams = t.Object({ username: t.String({ description: "Matched ignoring case", examples: ["test"] }) });

const optionalText = (description: string, example?: string) =>
  t.Optional(t.String({ description, ...(example === undefined ? {} : { examples: [example] }) }));

const pageQuery = {
  page: optionalText("Page number, from 1", "1"),
  page_size: optionalText(`Entries a page, ${PAGE_SIZE.min}–${PAGE_SIZE.max} (default ${PAGE_SIZE.default})`, "100"),
  format: optionalText("Accepted for compatibility (`json`); changes nothing"),
};

export const ListQuery = t.Object({
  status: optionalText(`List statuses, comma-separated: ${LIST_STATUSES.join(", ")}`, "watching,on_hold"),
  sort: t.Optional(t.String({ description: "Order (ties by anime id; entries with no score last both ways)", enum: [...SORTS], examples: ["-updated"] })),
  ...pageQuery,
});

const { status: airingStatus, ...animeFilters } = AnimeFilterQuery;
export const RandomQuery = t.Object({
  status: optionalText(`List statuses, comma-separated: ${LIST_STATUSES.join(", ")}`, "plan_to_watch"),
  anime_status: airingStatus,
  ...animeFilters,
  format: pageQuery.format,
});

export const FormatOnlyQuery = t.Object({ format: pageQuery.format });

export const ImportQuery = t.Object({
  mode: t.Optional(
    t.String({
      description: "`merge` (default): the file's entries are created or replaced, others kept; `replace`: the list becomes the file's entries",
      enum: [...IMPORT_MODES],
      examples: ["merge"],
    }),
  ),
});

export const Stats = t.Object(
  {
    total: t.Integer(),
    by_status: t.Object(Object.fromEntries(LIST_STATUSES.map((status) => [status, t.Integer()])) as Record<ListStatus, ReturnType<typeof t.Integer>>),
    episodes_watched: t.Integer(),
    mean_score: t.Union([t.Number(), t.Null()], { description: "Over the scored entries, 2 decimals; null if none" }),
    days_watched: t.Number({ description: "Each anime's episode duration × episodes watched, in days, 2 decimals" }),
  },
  {
    examples: [
      {
        total: 120,
        by_status: { watching: 3, completed: 98, on_hold: 4, dropped: 5, plan_to_watch: 10 },
        episodes_watched: 2345,
        mean_score: 7.42,
        days_watched: 40.71,
      },
    ],
  },
);

export const ImportReport = t.Object(
  {
    success: t.Literal(true),
    created: t.Integer(),
    updated: t.Integer(),
    unchanged: t.Integer(),
    removed: t.Integer(),
    unmatched: t.Array(t.Object({ mal_id: t.Integer(), title: t.String() })),
  },
  { examples: [{ success: true, created: 10, updated: 2, unchanged: 1, removed: 0, unmatched: [{ mal_id: 99999, title: "Some Title" }] }] },
);

export const ExportXml = t.String({
  description: "The MyAnimeList XML export format",
  examples: ['<?xml version="1.0" encoding="UTF-8" ?>\n<myanimelist>…</myanimelist>'],
});

export const Settings = t.Object(
  { success: t.Literal(true), data: t.Object({ list_public: t.Boolean() }) },
  { examples: [{ success: true, data: { list_public: false } }] },
);
export const SettingsBody = t.Object({ list_public: t.Boolean({ description: "Whether /users/{username}/list shows the list" }) }, { examples: [{ list_public: true }] });

export const Deleted = t.Object({ success: t.Literal(true) }, { examples: [{ success: true }] });

export const ListFailure = t.Object(
  { success: t.Literal(false), errors: t.Record(t.String(), t.Array(t.String())) },
  { examples: [{ success: false, errors: { score: ["Ensure this value is less than or equal to 10."] } }] },
);

export const Detail = t.Object({ detail: t.String() }, { examples: [{ detail: "Not found." }] });
export const QueryErrors = t.Record(t.String(), t.Array(t.String()), { examples: [{ page_size: ["Ensure this value is less than or equal to 500."] }] });
