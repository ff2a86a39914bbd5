// How an anime-offline-database entry becomes the API's anime object (the table in API.md,
// "The catalogue's data"). Pure functions: the importer validates and maps with them, and the body it
// stores is produced by serializeAnime, so the server serves exactly these bytes.

import type { AnimeStatus, AnimeType, Season } from "../shared/anime-filters.ts";

/** The dataset's spelling of each API value. */
export const ANIME_TYPES = {
  TV: "TV",
  MOVIE: "Movie",
  OVA: "OVA",
  ONA: "ONA",
  SPECIAL: "Special",
  UNKNOWN: "Unknown",
} as const satisfies Record<string, AnimeType>;
export const ANIME_STATUSES = {
  FINISHED: "Finished",
  ONGOING: "Ongoing",
  UPCOMING: "Upcoming",
  UNKNOWN: "Unknown",
} as const satisfies Record<string, AnimeStatus>;

const SEASONS: Record<string, Season> = { SPRING: "Spring", SUMMER: "Summer", FALL: "Fall", WINTER: "Winter" };
const SECONDS_PER_UNIT: Record<string, number> = { SECONDS: 1, MINUTES: 60, HOURS: 3600 };

export type DatasetType = keyof typeof ANIME_TYPES;
export type DatasetStatus = keyof typeof ANIME_STATUSES;

/** The fields of a dataset entry the catalogue uses (the others are ignored). */
export interface DatasetEntry {
  sources: string[];
  title: string;
  type: DatasetType;
  episodes: number;
  status: DatasetStatus;
  animeSeason: { season?: string; year?: number };
  picture: string;
  tags: string[];
  /** Fields only the details need: read leniently (a malformed one is left out, not fatal). */
  synonyms?: unknown;
  thumbnail?: unknown;
  duration?: unknown;
  score?: unknown;
  studios?: unknown;
  producers?: unknown;
  relatedAnime?: unknown;
}

/** What GET /anime/entry/{id}/details adds to the anime object (`related` as URLs until served). */
export interface AnimeDetails {
  season: Season | null;
  synonyms: string[];
  thumbnail: string | null;
  duration_seconds: number | null;
  score: number | null;
  studios: string[];
  producers: string[];
  related: string[];
}

/** One catalogue row, as the importer writes it (`sources` goes to anime_sources). */
export interface AnimeRow {
  title: string;
  source: string;
  sources: string[];
  anime_type: AnimeType;
  num_episodes: number;
  status: AnimeStatus;
  year: number | null;
  picture: string;
  tags: string[];
  details: AnimeDetails;
}

const MAX_INT4 = 2_147_483_647;

/**
 * Why a dataset entry cannot become a catalogue row, or undefined when it can. Only the fields the
 * API needs are checked; fields the catalogue ignores (synonyms, studios, thumbnail…) may be absent.
 */
export function entryProblem(value: unknown): string | undefined {
  if (!isObject(value)) return "not a JSON object";
  const { sources, title, type, episodes, status, animeSeason, picture, tags } = value;
  if (!Array.isArray(sources) || sources.length === 0) return "missing sources";
  if (!sources.every(isNonEmptyText)) return "sources must be non-empty strings";
  if (!isNonEmptyText(title)) return "missing title";
  if (typeof type !== "string" || !Object.hasOwn(ANIME_TYPES, type)) return `unknown type ${JSON.stringify(type)}`;
  if (!isCount(episodes)) return "episodes must be a whole number from 0";
  if (typeof status !== "string" || !Object.hasOwn(ANIME_STATUSES, status)) return `unknown status ${JSON.stringify(status)}`;
  if (!isObject(animeSeason)) return "missing animeSeason";
  if (animeSeason.year !== undefined && animeSeason.year !== null && !isCount(animeSeason.year)) {
    return "animeSeason.year must be a whole number";
  }
  if (!isNonEmptyText(picture)) return "missing picture";
  if (!Array.isArray(tags) || !tags.every(isStorableText)) return "tags must be a list of strings";
  return undefined;
}

export function toAnimeRow(entry: DatasetEntry): AnimeRow {
  const sources = [...new Set(entry.sources)];
  return {
    title: entry.title,
    source: primarySource(sources),
    sources,
    anime_type: ANIME_TYPES[entry.type],
    num_episodes: entry.episodes,
    status: ANIME_STATUSES[entry.status],
    year: entry.animeSeason.year ?? null,
    picture: entry.picture,
    tags: apiTags(entry.tags),
    details: toAnimeDetails(entry),
  };
}

export function toAnimeDetails(entry: DatasetEntry): AnimeDetails {
  return {
    season: SEASONS[String(entry.animeSeason.season)] ?? null,
    synonyms: textList(entry.synonyms),
    thumbnail: isNonEmptyText(entry.thumbnail) ? entry.thumbnail : null,
    duration_seconds: durationSeconds(entry.duration),
    score: roundedScore(entry.score),
    studios: textList(entry.studios),
    producers: textList(entry.producers),
    related: textList(entry.relatedAnime),
  };
}

/** The stored form of the details (the `details` column), keys in a fixed order. */
export function serializeDetails(details: AnimeDetails): string {
  return JSON.stringify({
    season: details.season,
    synonyms: details.synonyms,
    thumbnail: details.thumbnail,
    duration_seconds: details.duration_seconds,
    score: details.score,
    studios: details.studios,
    producers: details.producers,
    related: details.related,
  });
}

/** The dataset's strings in its order, duplicates and unstorable or blank items dropped. */
function textList(value: unknown): string[] {
  return Array.isArray(value) ? [...new Set(value.filter(isNonEmptyText))] : [];
}

function durationSeconds(value: unknown): number | null {
  if (!isObject(value) || typeof value.value !== "number" || !Number.isFinite(value.value) || value.value < 0) return null;
  const perUnit = SECONDS_PER_UNIT[String(value.unit ?? "SECONDS").toUpperCase()];
  if (perUnit === undefined) return null;
  const seconds = Math.round(value.value * perUnit);
  return seconds <= MAX_INT4 ? seconds : null;
}

/** `score.arithmeticGeometricMean`, 2 decimals. */
function roundedScore(value: unknown): number | null {
  if (!isObject(value)) return null;
  const mean = value.arithmeticGeometricMean;
  if (typeof mean !== "number" || !Number.isFinite(mean) || mean < 0 || mean > 1e6) return null;
  return Math.round(mean * 100) / 100;
}

/** The exact JSON body of the API anime object, keys in the contract's order. */
export function serializeAnime(id: number, row: AnimeRow): string {
  return JSON.stringify({
    id,
    title: row.title,
    source: row.source,
    anime_type: row.anime_type,
    num_episodes: row.num_episodes,
    status: row.status,
    year: row.year,
    picture: row.picture,
    tags: row.tags,
  });
}

// The providers preferred for `source` after anidb.net, best first; any other comes after them.
const PROVIDER_ORDER = ["anidb.net", "myanimelist.net", "anilist.co", "kitsu"];

/** The anidb.net URL if any, else the first by provider order (myanimelist, anilist, kitsu), then alphabetical. */
export function primarySource(sources: string[]): string {
  return [...sources].sort(compareSources)[0] ?? "";
}

function compareSources(a: string, b: string): number {
  return providerRank(a) - providerRank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function providerRank(url: string): number {
  const host = hostOf(url);
  // kitsu.io and kitsu.app are both in use.
  const rank = PROVIDER_ORDER.findIndex((provider) => host === provider || host.startsWith(`${provider}.`));
  return rank === -1 ? PROVIDER_ORDER.length : rank;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^www\./, "");
  } catch {
    return "";
  }
}

/** First letter upper-cased, the rest as in the data, duplicates removed, sorted by code point. */
export function apiTags(tags: string[]): string[] {
  const capitalised = tags.filter((tag) => tag !== "").map(capitaliseFirst);
  return [...new Set(capitalised)].sort();
}

function capitaliseFirst(text: string): string {
  const first = String.fromCodePoint(text.codePointAt(0)!);
  return first.toUpperCase() + text.slice(first.length);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** PostgreSQL text holds neither NUL nor unpaired surrogates. */
function isStorableText(value: unknown): value is string {
  return typeof value === "string" && !value.includes("\0") && value.isWellFormed();
}

function isNonEmptyText(value: unknown): value is string {
  return isStorableText(value) && value.trim() !== "";
}

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_INT4;
}
