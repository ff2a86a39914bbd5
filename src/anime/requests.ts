// Reading the query parameters of the anime routes into what the catalogue is asked (the contract's
// "Query parameters and pages", "The anime filters" and each route's own parameters).
import { HttpError, messages } from "../http/errors.ts";
import { type PageRequest, QueryReader, type RawQuery } from "../http/query.ts";
import { type AnimeFilters, readAnimeFilters } from "../shared/anime-filters.ts";
import { type AnimeSort, SORTS } from "./filter-index.ts";
import type { SearchRequest } from "./catalogue.ts";

export const PAGE_SIZE = { min: 1, max: 100, default: 20 } as const;
export const MAX_BULK_IDS = 100;
const MAX_ID = 2_147_483_647;
const MAX_SOURCE_LENGTH = 2_000;

export const bulkIdsMessage = `Enter up to ${MAX_BULK_IDS} positive integers, separated by commas.`;
export const relevanceNeedsQ = "Sorting by relevance needs q.";

/** The filters of GET /anime/random; a 400 with every bad field. */
export function readRandomRequest(query: RawQuery): AnimeFilters {
  const reader = new QueryReader(query);
  const filters = readAnimeFilters(reader);
  reader.finish();
  return filters;
}

/** GET /anime/search: q, filters, sort and the page; a 400 with every bad field, 404 for a bad page. */
export function readSearchRequest(query: RawQuery): SearchRequest & PageRequest {
  const reader = new QueryReader(query);
  const q = reader.text("q");
  const filters = readAnimeFilters(reader);
  const sort = reader.choices("sort", SORTS, false)?.[0];
  if (sort === "relevance" && q === undefined && !reader.errors.q) reader.fail("sort", relevanceNeedsQ);
  const pageSize = reader.pageSize(PAGE_SIZE.min, PAGE_SIZE.max, PAGE_SIZE.default);
  let page = 1;
  let pageError: unknown;
  try {
    page = reader.page();
  } catch (error) {
    pageError = error; // field errors first: they say more than "Invalid page."
  }
  reader.finish();
  if (pageError) throw pageError;
  const order: AnimeSort = sort ?? (q === undefined ? "title" : "relevance");
  return { ...(q === undefined ? {} : { q }), filters, sort: order, page, pageSize };
}

/**
 * GET /anime/entries: the ids asked, in order, duplicates dropped; ids above the 32-bit range are
 * kept out (they are simply unknown).
 */
export function readBulkIds(query: RawQuery): number[] {
  const raw = query.ids;
  if (raw === undefined) throw new HttpError(400, { ids: [messages.required] });
  return plainBulkIds(raw) ?? bulkIdsOf(raw);
}

/**
 * The common form, digits and commas only (`1,2,3`), read in one pass without a string per id; the
 * same ids as bulkIdsOf. Undefined for anything else (spaces, signs, an empty or zero id, too many):
 * bulkIdsOf reads it, or says what is wrong.
 */
function plainBulkIds(raw: string): number[] | undefined {
  const ids: number[] = [];
  let value = 0;
  let digits = 0;
  let items = 0;
  for (let i = 0; i <= raw.length; i++) {
    const code = i < raw.length ? raw.charCodeAt(i) : 44; // the end closes the last id like a comma
    if (code >= 48 && code <= 57) {
      value = value * 10 + (code - 48); // exact while it matters: past MAX_ID it only grows
      digits++;
      continue;
    }
    if (code !== 44 || digits === 0 || value === 0 || ++items > MAX_BULK_IDS) return undefined;
    if (value <= MAX_ID && !ids.includes(value)) ids.push(value);
    value = 0;
    digits = 0;
  }
  return ids;
}

function bulkIdsOf(raw: string): number[] {
  if (raw.trim() === "") throw new HttpError(400, { ids: [messages.blank] });
  const items = raw.split(",").map((item) => item.trim());
  if (items.length > MAX_BULK_IDS || !items.every((item) => /^\+?\d+$/.test(item) && /[1-9]/.test(item))) {
    throw new HttpError(400, { ids: [bulkIdsMessage] });
  }
  const ids = items.map((item) => Number(item)).filter((id) => id <= MAX_ID);
  return [...new Set(ids)];
}

/** GET /anime/lookup: the source URL asked. */
export function readLookupSource(query: RawQuery): string {
  const reader = new QueryReader(query);
  if (!reader.has("source")) reader.fail("source", messages.required);
  const source = reader.text("source", MAX_SOURCE_LENGTH);
  reader.finish();
  return source!;
}
