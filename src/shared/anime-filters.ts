// The anime object (its schema and enums) and "The anime filters" of the contract, shared by the
// features that filter anime: the catalogue (search, random) and the list (random from one's list).
// Each feature evaluates parsed filters its own way (in memory, or in SQL); parsing is the same here.
import { t } from "elysia";
import type { QueryReader } from "../http/query.ts";

const literals = <T extends string>(values: readonly T[], options: { description?: string } = {}) =>
  t.Union(
    values.map((value) => t.Literal(value)),
    options,
  );

export const ANIME_TYPES = ["TV", "Movie", "OVA", "ONA", "Special", "Unknown"] as const;
export const ANIME_STATUSES = ["Finished", "Ongoing", "Upcoming", "Unknown"] as const;
export const SEASONS = ["Spring", "Summer", "Fall", "Winter"] as const;

export const AnimeType = literals(ANIME_TYPES);
export const AnimeStatus = literals(ANIME_STATUSES);
export const Season = literals(SEASONS);
export type AnimeType = typeof AnimeType.static;
export type AnimeStatus = typeof AnimeStatus.static;
export type Season = typeof Season.static;

/** The anime object of Part 1, as /anime/entry/{id} serves it (and as list entries carry it). */
export const Anime = t.Object(
  {
    id: t.Integer(),
    title: t.String(),
    source: t.String({ description: "The anidb.net URL when there is one, else the first source" }),
    anime_type: AnimeType,
    num_episodes: t.Integer({ minimum: 0 }),
    status: AnimeStatus,
    year: t.Union([t.Integer(), t.Null()]),
    picture: t.String(),
    tags: t.Array(t.String(), { description: "First letter upper-cased, sorted by code point" }),
  },
  {
    examples: [
      {
        id: 18562,
        title: "Tokyo Ghoul",
        source: "https://anidb.net/anime/10401",
        anime_type: "TV",
        num_episodes: 12,
        status: "Finished",
        year: 2014,
        picture: "https://cdn.myanimelist.net/images/anime/5/64449.jpg",
        tags: ["Action", "Crime", "Dark fantasy", "Drama", "Gore", "Horror"],
      },
    ],
  },
);

export const YEAR_RANGE = { min: 1900, max: 2100 } as const;
export const EPISODES_RANGE = { min: 0, max: 100_000 } as const;

const optionalText = (description: string, example?: string) =>
  t.Optional(t.String({ description, ...(example === undefined ? {} : { examples: [example] }) }));

/** The filters as query parameters, for the routes' `t` schemas (they are validated by readAnimeFilters). */
export const AnimeFilterQuery = {
  type: optionalText(`Anime types, comma-separated, any case: ${ANIME_TYPES.join(", ")}`, "TV,Movie"),
  status: optionalText(`Airing statuses, comma-separated: ${ANIME_STATUSES.join(", ")}`, "Finished"),
  season: optionalText(`Seasons, comma-separated: ${SEASONS.join(", ")}`),
  year_from: optionalText(`First year, ${YEAR_RANGE.min}–${YEAR_RANGE.max} (entries with no year never match a year filter)`, "2010"),
  year_to: optionalText(`Last year, ${YEAR_RANGE.min}–${YEAR_RANGE.max}, inclusive`),
  episodes_min: optionalText(`Fewest episodes, ${EPISODES_RANGE.min}–${EPISODES_RANGE.max}`),
  episodes_max: optionalText(`Most episodes, ${EPISODES_RANGE.min}–${EPISODES_RANGE.max}`),
  tags: optionalText("Tags the entry must all have, comma-separated, any case", "Action,Drama"),
  exclude_tags: optionalText("Tags the entry must have none of, comma-separated, any case"),
  studio: optionalText("One studio's name, any case", "madhouse"),
};

export interface AnimeFilters {
  types?: AnimeType[];
  statuses?: AnimeStatus[];
  seasons?: Season[];
  yearFrom?: number;
  yearTo?: number;
  episodesMin?: number;
  episodesMax?: number;
  /** Lower-cased: tag and studio names match ignoring case. */
  tags?: string[];
  excludeTags?: string[];
  studio?: string;
}

/**
 * Reads the filters; bad values become field errors on `reader` (call reader.finish()). Where a
 * route's own `status` means something else (the list's), the airing status is read from
 * `statusParameter` instead (`anime_status`).
 */
export function readAnimeFilters(reader: QueryReader, statusParameter = "status"): AnimeFilters {
  const filters: AnimeFilters = {
    types: reader.choices("type", ANIME_TYPES),
    statuses: reader.choices(statusParameter, ANIME_STATUSES),
    seasons: reader.choices("season", SEASONS),
    yearFrom: reader.integer("year_from", YEAR_RANGE.min, YEAR_RANGE.max),
    yearTo: reader.integer("year_to", YEAR_RANGE.min, YEAR_RANGE.max),
    episodesMin: reader.integer("episodes_min", EPISODES_RANGE.min, EPISODES_RANGE.max),
    episodesMax: reader.integer("episodes_max", EPISODES_RANGE.min, EPISODES_RANGE.max),
    tags: reader.names("tags")?.map(foldName),
    excludeTags: reader.names("exclude_tags")?.map(foldName),
    studio: foldOptional(reader.text("studio")),
  };
  for (const key of Object.keys(filters) as (keyof AnimeFilters)[]) if (filters[key] === undefined) delete filters[key];
  return filters;
}

export function hasAnimeFilters(filters: AnimeFilters): boolean {
  return Object.keys(filters).length > 0;
}

/** How tag and studio names are compared. */
export function foldName(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

const foldOptional = (name: string | undefined) => (name === undefined ? undefined : foldName(name));
