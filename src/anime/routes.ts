// /anime/*: one entry by id (and its details), several by id, one by source URL, a uniformly random
// entry (optionally among those matching filters), and search. Public: the Authorization header is
// ignored. Entry, details, search and lookup answers carry a strong ETag (If-None-Match → 304).
import { Elysia } from "elysia";
import { LRUCache } from "lru-cache";
import { notFound } from "../http/errors.ts";
import { etagOf, ifNoneMatchMatches } from "../http/etag.ts";
import { noteResponseBytes } from "../http/garbage.ts";
import { type HeaderPolicy, ImmediateBody } from "../http/headers.ts";
import { pageHeadJson, pageOf, pageOffset } from "../http/query.ts";
import { type Body, type Catalogue, parseAnimeId, searchKey } from "./catalogue.ts";
import type { DetailsAnswer } from "./details-cache.ts";
import { filtersKey } from "./filter-index.ts";
import { readBulkIds, readLookupSource, readRandomRequest, readSearchRequest } from "./requests.ts";
import {
  Anime,
  AnimeDetails,
  AnimeEntries,
  AnimePage,
  EntriesQuery,
  EntryParams,
  FieldErrors,
  FormatQuery,
  InvalidPage,
  NotModified,
  LookupQuery,
  NotFound,
  RandomQuery,
  SearchQuery,
} from "./schemas.ts";

const tags = ["anime"];
/** Parsed query strings kept per route (parsing is a pure function of the text: no catalogue state). */
const PARSED_QUERIES = 2_000;
/** Longer query strings are parsed every time: the memo stays small whatever clients send. */
const MEMOISED_QUERY_LENGTH = 512;
const CREDIT = "Data: anime-offline-database (manami-project), ODbL 1.0 + DbCL 1.0.";
const ETAG_NOTE = "Carries a strong `ETag`; a request with a matching `If-None-Match` gets 304 with no body.";

export function animeRoutes(catalogue: Catalogue, headers: Pick<HeaderPolicy, "json" | "tagged">) {
  const { json, tagged } = headers;
  const respond = (body: Body | undefined): Response => {
    if (body === undefined) throw notFound();
    return json(body);
  };
  /** Cached bodies arrive synchronously: answering them without a promise keeps the hot path short. */
  const respondTo = (body: Body | undefined | Promise<Body | undefined>) =>
    body instanceof Promise ? body.then(respond) : respond(body);

  /** The tag of every cached entry body of one load: built once per catalogue version. */
  let versionTag = { version: Number.NaN, etag: "" };
  const loadedVersionTag = () => {
    const version = catalogue.loadedVersion;
    if (versionTag.version !== version) versionTag = { version, etag: `"v${version}"` };
    return versionTag.etag;
  };

  const tagAnswer = (request: Request, body: string | Uint8Array | ImmediateBody, etag: string): Response =>
    ifNoneMatchMatches(request.headers.get("if-none-match"), etag) ? tagged.notModified(etag) : tagged.json(body, etag);

  /** A body from this load's caches is tagged by the version; one read from the database by its bytes. */
  const respondTagged = (request: Request, body: Body | undefined | Promise<Body | undefined>) => {
    if (body instanceof Promise) {
      return body.then((found) => {
        if (found === undefined) throw notFound();
        return tagAnswer(request, found, etagOf(found));
      });
    }
    if (body === undefined) throw notFound();
    return tagAnswer(request, body, catalogue.cachesTrusted ? loadedVersionTag() : etagOf(body));
  };

  /** Several entries; from this load's caches, synchronously (the usual case), tagged by the version and the ids. */
  const respondEntries = (request: Request, ids: number[]): Response | Promise<Response> => {
    const bodies = catalogue.bodiesOf(ids);
    if (bodies instanceof Promise) return bodies.then((found) => taggedBytes(request, entriesJson(found)));
    if (!catalogue.cachesTrusted) return taggedBytes(request, entriesJson(bodies));
    const bytes = entriesJson(bodies);
    noteResponseBytes(bytes.byteLength);
    return tagAnswer(request, new ImmediateBody(bytes), `"e${catalogue.loadedVersion}-${Bun.hash(ids.join(",")).toString(36)}"`);
  };

  /** Details from this load's cache arrive synchronously, with their ETag. */
  const respondDetails = (request: Request, answer: DetailsAnswer | undefined | Promise<DetailsAnswer | undefined>) => {
    const respond = (found: DetailsAnswer | undefined) => {
      if (found === undefined) throw notFound();
      return tagAnswer(request, found.body, found.etag);
    };
    return answer instanceof Promise ? answer.then(respond) : respond(answer);
  };

  /** A body assembled from JSON pieces (cached entry bodies are bytes already), tagged by its bytes. */
  const taggedBytes = (request: Request, bytes: Uint8Array) => {
    noteResponseBytes(bytes.length);
    return tagAnswer(request, bytes, etagOf(bytes));
  };

  const randomQueries = parsedByQueryString((query) => {
    const filters = readRandomRequest(query);
    return { filters, key: filtersKey(filters) };
  });
  const searchQueries = parsedByQueryString((query): ParsedSearch => {
    const asked = readSearchRequest(query);
    return { asked, key: searchKey(asked), head: undefined };
  });

  return new Elysia({ name: "anime", prefix: "/anime" })
    .get(
      "/entry/:id",
      ({ params, request }) => {
        const id = parseAnimeId(params.id);
        return respondTagged(request, id === undefined ? undefined : catalogue.entryBody(id));
      },
      {
        params: EntryParams,
        query: FormatQuery,
        response: { 200: Anime, 304: NotModified, 404: NotFound },
        detail: { summary: "One anime by id", description: `${ETAG_NOTE}\n\n${CREDIT}`, tags },
      },
    )
    .get(
      "/entry/:id/details",
      ({ params, request }) => {
        const id = parseAnimeId(params.id);
        return respondDetails(request, id === undefined ? undefined : catalogue.detailsOf(id));
      },
      {
        params: EntryParams,
        query: FormatQuery,
        response: { 200: AnimeDetails, 304: NotModified, 404: NotFound },
        detail: {
          summary: "One anime with everything the dataset knows about it",
          description: `The anime object plus season, synonyms (the dataset's order), every source (sorted), thumbnail, duration per episode, score, studios, producers and the related entries the catalogue has (sorted by id). ${ETAG_NOTE}\n\n${CREDIT}`,
          tags,
        },
      },
    )
    .get(
      "/entries",
      ({ query, request }) => respondEntries(request, readBulkIds(query)),
      {
        query: EntriesQuery,
        response: { 200: AnimeEntries, 304: NotModified, 400: FieldErrors },
        detail: { summary: "Several anime by id (up to 100)", description: `In the order asked; unknown ids are left out. ${ETAG_NOTE}\n\n${CREDIT}`, tags },
      },
    )
    .get(
      "/lookup",
      async ({ query, request }) => {
        const id = await catalogue.idBySource(readLookupSource(query));
        return respondTagged(request, id === undefined ? undefined : catalogue.entryBody(id));
      },
      {
        query: LookupQuery,
        response: { 200: Anime, 304: NotModified, 400: FieldErrors, 404: NotFound },
        detail: { summary: "The anime listing a source URL", description: `${ETAG_NOTE}\n\n${CREDIT}`, tags },
      },
    )
    .get(
      "/random",
      ({ query, request }) => {
        // No parameter but `format`: the unfiltered draw, on its own short path.
        for (const name in query) {
          if (name === "format") continue;
          const { filters, key } = randomQueries(request.url, query);
          return respondTo(catalogue.randomMatchingBody(filters, key));
        }
        return respondTo(catalogue.randomBody());
      },
      {
        query: RandomQuery,
        response: { 200: Anime, 400: FieldErrors, 404: NotFound },
        detail: {
          summary: "A uniformly random anime, optionally among those matching filters",
          description: `Drawn from indexes held in memory. 404 when no entry matches.\n\n${CREDIT}`,
          tags,
        },
      },
    )
    .get(
      "/search",
      async ({ query, request }) => {
        const parsed = searchQueries(request.url, query);
        const { asked, key } = parsed;
        const offset = pageOffset(asked);
        const found = await catalogue.search(asked, key, offset + asked.pageSize);
        const head = pageHead(parsed, request.url, found.count);
        const bodies = catalogue.bodiesAt(found, offset, offset + asked.pageSize);
        if (bodies instanceof Promise || found.version !== catalogue.loadedVersion) return taggedBytes(request, pageJson(head, await bodies));
        // Every body from the load the search ran on: the body is a function of that version and the URL.
        const bytes = pageJson(head, bodies);
        noteResponseBytes(bytes.byteLength);
        return tagAnswer(request, new ImmediateBody(bytes), `"s${found.version}-${Bun.hash(request.url).toString(36)}"`);
      },
      {
        query: SearchQuery,
        response: { 200: AnimePage, 304: NotModified, 400: FieldErrors, 404: InvalidPage },
        detail: {
          summary: "Search and browse the catalogue",
          description: `With \`q\`, entries whose title or a synonym matches every word (typos, accents, punctuation and word order forgiven), best first; without it, every entry matching the filters, by title. ${ETAG_NOTE}\n\n${CREDIT}`,
          tags,
        },
      },
    );
}

/**
 * Memoises a route's query parsing by the raw query string: the same request text always parses to
 * the same result (bad ones throw, and are not kept).
 */
function parsedByQueryString<T extends {}>(parse: (query: Record<string, string | undefined>) => T) {
  const parsed = new LRUCache<string, T>({ max: PARSED_QUERIES });
  return (url: string, query: Record<string, string | undefined>): T => {
    const text = url.slice(url.indexOf("?") + 1);
    if (text.length > MEMOISED_QUERY_LENGTH) return parse(query);
    let found = parsed.get(text);
    if (found === undefined) {
      found = parse(query);
      parsed.set(text, found);
    }
    return found;
  };
}

function entriesJson(bodies: Body[]): Uint8Array<ArrayBuffer> {
  return jsonArray(`{"count":${bodies.length},"results":[`, bodies, "]}");
}

/** A search page: its head (count and links, up to `"results":[`) and its entries. */
function pageJson(head: string, bodies: Body[]): Uint8Array<ArrayBuffer> {
  return jsonArray(head, bodies, "]}");
}

interface ParsedSearch {
  asked: ReturnType<typeof readSearchRequest>;
  key: string;
  /** The page's JSON up to its results, for the last URL and count it was made for (the links cost a URL parse each). */
  head: { url: string; count: number; text: string } | undefined;
}

/** The page's JSON before its results (404 past the last page), remembered with the parsed query. */
function pageHead(parsed: ParsedSearch, url: string, count: number): string {
  const known = parsed.head;
  if (known && known.count === count && known.url === url) return known.text;
  const page = pageOf(url, count, parsed.asked, []);
  const text = pageHeadJson(page);
  parsed.head = { url, count, text };
  return text;
}

/**
 * `head`, the bodies joined by commas, `tail`: one buffer, written in one pass. (A Blob of the ~40
 * parts cost about half of a bulk answer's CPU in the handler.)
 */
function jsonArray(head: string, bodies: Body[], tail: string): Uint8Array<ArrayBuffer> {
  let size = Buffer.byteLength(head) + Math.max(0, bodies.length - 1) + Buffer.byteLength(tail);
  for (const body of bodies) size += typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  const bytes = Buffer.allocUnsafe(size);
  let at = bytes.write(head, 0);
  for (let i = 0; i < bodies.length; i++) {
    if (i > 0) bytes[at++] = COMMA;
    const body = bodies[i]!;
    if (typeof body === "string") at += bytes.write(body, at);
    else {
      bytes.set(body, at);
      at += body.byteLength;
    }
  }
  bytes.write(tail, at);
  return bytes;
}
const COMMA = 0x2c;
