// Schemas of the anime routes, for validation and the OpenAPI document.
import { t } from "elysia";
import { Anime, AnimeFilterQuery, AnimeType, Season } from "../shared/anime-filters.ts";

export { Anime };
import { SORTS } from "./filter-index.ts";

export const NotFound = t.Object({ detail: t.String() }, { examples: [{ detail: "Not found." }] });

export const EntryParams = t.Object({ id: t.String({ description: "The anime's id (a positive integer)", examples: ["18562"] }) });

export const FormatQuery = t.Object({
  format: t.Optional(t.String({ description: "Accepted for compatibility (`json`); changes nothing" })),
});

const optionalText = (description: string, example?: string, extra: Record<string, unknown> = {}) =>
  t.Optional(t.String({ description, ...(example === undefined ? {} : { examples: [example] }), ...extra }));

const ANIME_EXAMPLE = Anime.examples![0] as typeof Anime.static;

export const FieldErrors = t.Record(t.String(), t.Array(t.String()), {
  description: "Every bad parameter with its messages",
  examples: [{ year_from: ["A valid integer is required."] }],
});

export const InvalidPage = t.Object({ detail: t.String() }, { examples: [{ detail: "Invalid page." }] });

export const SearchQuery = t.Object({
  q: optionalText(
    "Words to find in the title or any synonym, 1–200 characters; ignores case, accents, punctuation and word order, tolerates typos, the last word may be only begun",
    "fullmetal alch",
  ),
  ...AnimeFilterQuery,
  sort: optionalText("Order: `relevance` (the default with q, needs q), `title` (the default without q), `-title`, `year`, `-year`, `episodes`, `-episodes`, `score`, `-score`; ties by id, no value last", "-score", {
    enum: [...SORTS],
  }),
  page: optionalText("Page number, from 1", "1"),
  page_size: optionalText("Entries per page, 1–100 (default 20)", "20"),
  format: FormatQuery.properties.format,
});

export const RandomQuery = t.Object({ ...AnimeFilterQuery, format: FormatQuery.properties.format });

export const AnimePage = t.Object(
  {
    count: t.Integer({ minimum: 0 }),
    next: t.Union([t.String(), t.Null()], { description: "Absolute URL of the next page" }),
    previous: t.Union([t.String(), t.Null()], { description: "Absolute URL of the previous page" }),
    results: t.Array(Anime),
  },
  { examples: [{ count: 1, next: null, previous: null, results: [ANIME_EXAMPLE] }] },
);

export const RelatedAnime = t.Object({
  id: t.Integer(),
  title: t.String(),
  anime_type: AnimeType,
  year: t.Union([t.Integer(), t.Null()]),
});

export const AnimeDetails = t.Object(
  {
    ...Anime.properties,
    season: t.Union([Season, t.Null()]),
    synonyms: t.Array(t.String(), { description: "In the dataset's order" }),
    sources: t.Array(t.String(), { description: "Every source URL, sorted" }),
    thumbnail: t.Union([t.String(), t.Null()]),
    duration_seconds: t.Union([t.Integer(), t.Null()], { description: "Per episode" }),
    score: t.Union([t.Number(), t.Null()], { description: "The dataset's arithmetic-geometric mean, 2 decimals" }),
    studios: t.Array(t.String()),
    producers: t.Array(t.String()),
    related: t.Array(RelatedAnime, { description: "Related entries the catalogue has, sorted by id" }),
  },
  {
    examples: [
      {
        ...ANIME_EXAMPLE,
        season: "Summer",
        synonyms: ["Tokyo Kushu", "東京喰種"],
        sources: ["https://anidb.net/anime/10401", "https://anilist.co/anime/20605", "https://myanimelist.net/anime/22319"],
        thumbnail: "https://cdn.myanimelist.net/images/anime/5/64449t.jpg",
        duration_seconds: 1440,
        score: 7.81,
        studios: ["pierrot"],
        producers: ["marvelous"],
        related: [{ id: 19800, title: "Tokyo Ghoul √A", anime_type: "TV", year: 2015 }],
      },
    ],
  },
);

export const EntriesQuery = t.Object({
  ids: optionalText("Up to 100 positive integer ids, comma-separated (an id above 2147483647 is unknown)", "18562,19800"),
  format: FormatQuery.properties.format,
});

export const AnimeEntries = t.Object(
  {
    count: t.Integer({ minimum: 0 }),
    results: t.Array(Anime, { description: "In the order asked; unknown ids are left out" }),
  },
  { examples: [{ count: 1, results: [ANIME_EXAMPLE] }] },
);

export const LookupQuery = t.Object({
  source: optionalText("A source URL of the entry (http: or https:, trailing slash or not)", "https://myanimelist.net/anime/22319"),
  format: FormatQuery.properties.format,
});

export const NotModified = t.Void({ description: "Not modified: the `If-None-Match` tag matches (no body)" });
