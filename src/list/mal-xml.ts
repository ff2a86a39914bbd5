// The MyAnimeList XML export format (what MyAnimeList, AniList and Kitsu export and import): parse an
// uploaded export into list entries, and write a list as one. Pure functions, no HTTP, no database.
//
// Parsing uses saxes, a strict (W3C-conformant) streaming parser that has no DTD support at all: it
// never expands a declared entity nor fetches an external one. On top of that a document that has a
// DOCTYPE is refused at its declaration, before any of its content is read, so billion-laughs and
// external-entity files fail with a reason instead of being half-read.
import { SaxesParser } from "saxes";
import type { AnimeType } from "../shared/anime-filters.ts";

export type ListStatus = "watching" | "completed" | "on_hold" | "dropped" | "plan_to_watch";

/** An entry as the file carries it, values already brought into the contract's ranges. */
export interface MalEntry {
  malId: number;
  title: string;
  status: ListStatus;
  /** Raw non-negative count (at most MAL_LIMITS.episodes); the service clamps it to the anime's num_episodes. */
  episodesWatched: number;
  score: number | null;
  rewatches: number;
  startedOn: string | null;
  finishedOn: string | null;
  notes: string;
}

/** An `<anime>` whose series_animedb_id is missing or not an id: reported, never matched. */
export interface InvalidMalEntry {
  /** The series_animedb_id text as found (shortened), "" when absent. */
  id: string;
  title: string;
}

export interface ParsedExport {
  /** One per MyAnimeList id, in the order of each id's last appearance in the file. */
  entries: MalEntry[];
  invalid: InvalidMalEntry[];
  /** `<anime>` elements whose id appeared again later in the file (the later one wins). */
  duplicates: number;
}

/** What an export writes for one list entry: the entry plus the anime's catalogue facts. */
export interface ExportEntry extends MalEntry {
  type: AnimeType;
  numEpisodes: number;
}

export const MAL_LIMITS = {
  notes: 2000,
  rewatches: 1000,
  episodes: 100_000,
  /** Longer than any real title; bounds what an import report echoes back. */
  title: 1000,
  /** More than MyAnimeList has anime: a file past it is not a real export (bounds parsing memory). */
  entries: 50_000,
  maxId: 2_147_483_647,
} as const;

/** Why a body is not an importable MyAnimeList export; the message is meant for the user. */
export class MalFormatError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "MalFormatError";
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** The fields an import reads (of `<anime>`, and `<myinfo>`'s export type); the others are skipped. */
const FIELDS_READ = new Set([
  "series_animedb_id",
  "series_title",
  "my_watched_episodes",
  "my_start_date",
  "my_finish_date",
  "my_score",
  "my_status",
  "my_comments",
  "my_times_watched",
  "user_export_type",
]);
const MAX_DEPTH = 6; // myanimelist > anime > field is 3; a little slack for harmless extras
const MAX_ATTRIBUTES = 32; // the format has none
/** Of a field's text, more than the longest value kept (notes: 2000 code points) is never needed. */
const MAX_FIELD_CHARS = 16 * 1024;
/**
 * The longest single text, CDATA section, comment or attribute value accepted. saxes gathers each
 * one piece by piece (an entity, a CR, a `]` in CDATA, a `-` in a comment each add a piece); 16 MiB
 * of such pieces made a string of millions of parts that took 400–800 MiB. Fed in slices and checked
 * after each, it stays small. Real exports have no text longer than a comment.
 */
const MAX_NODE_CHARS = 64 * 1024;
const SLICE_CHARS = 32 * 1024;
/** The async parse gives the event loop a turn after this many characters. */
const YIELD_EVERY_CHARS = 1024 * 1024;

const REFUSED_DOCTYPE =
  "The file declares a DOCTYPE: a MyAnimeList export has none, and DOCTYPEs and entity declarations are refused.";

/**
 * Parses an export (the body as text). Throws MalFormatError, with a reason meant for the user, for
 * anything that is not a MyAnimeList anime list export. Synchronous: for a request, prefer
 * parseMalExportAsync, which lets other requests run while a 16 MiB file is read.
 */
export function parseMalExport(xml: string, options: { sliceChars?: number } = {}): ParsedExport {
  const steps = parseInSlices(xml, options.sliceChars ?? SLICE_CHARS);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** parseMalExport, giving the event loop a turn after each MiB read. */
export async function parseMalExportAsync(xml: string): Promise<ParsedExport> {
  const steps = parseInSlices(xml, SLICE_CHARS);
  for (let read = 0; ; read += SLICE_CHARS) {
    const step = steps.next();
    if (step.done) return step.value;
    if (read % YIELD_EVERY_CHARS === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Yields after each slice written to the parser; returns the result. */
function* parseInSlices(xml: string, sliceChars: number): Generator<void, ParsedExport, void> {
  // A BOM, or blank lines some exporters put before the XML declaration (which XML only allows first).
  const text = xml.slice(leadingBlanks(xml));
  if (text === "") throw new MalFormatError("The file is empty: expected a MyAnimeList XML export.");
  if (declaresDoctype(text)) throw new MalFormatError(REFUSED_DOCTYPE);
  const reader = new ExportReader();
  const parser = new SaxesParser({ position: true });
  parser.on("doctype", () => {
    throw new MalFormatError(REFUSED_DOCTYPE);
  });
  parser.on("opentag", (tag) => reader.open(tag));
  parser.on("attribute", () => reader.attribute());
  parser.on("closetag", () => reader.close());
  parser.on("text", (value) => reader.text(value));
  parser.on("cdata", (value) => reader.text(value));
  // saxes' private buffer of the text, CDATA, comment or attribute value being read (pinned version).
  const pending = parser as unknown as { text: string };
  try {
    for (let at = 0; at < text.length; at += sliceChars) {
      parser.write(text.slice(at, at + sliceChars));
      if (pending.text.length > MAX_NODE_CHARS) {
        throw new MalFormatError(`The file has a text, comment or attribute longer than ${MAX_NODE_CHARS / 1024} KiB: a MyAnimeList export has none.`);
      }
      yield;
    }
    parser.close();
  } catch (error) {
    if (error instanceof MalFormatError) throw error;
    throw new MalFormatError(`The file is not well-formed XML: ${shortened((error as Error).message)}`);
  }
  return reader.result();
}

function leadingBlanks(xml: string): number {
  let at = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (at < xml.length && " \t\r\n".includes(xml.charAt(at))) at++;
  return at;
}

/**
 * Whether the prolog (XML declaration, comments, processing instructions, blanks) is followed by a
 * DOCTYPE: refused at once, without reading a declaration that may be megabytes long. saxes refuses
 * any DOCTYPE this misses (its doctype event).
 */
function declaresDoctype(text: string): boolean {
  let at = 0;
  for (;;) {
    while (at < text.length && " \t\r\n".includes(text.charAt(at))) at++;
    if (text.startsWith("<!DOCTYPE", at)) return true;
    const close = text.startsWith("<?", at) ? "?>" : text.startsWith("<!--", at) ? "-->" : undefined;
    if (close === undefined) return false;
    const end = text.indexOf(close, at + 2);
    if (end < 0) return false;
    at = end + close.length;
  }
}

/** Follows the element tree and turns each `<anime>` into an entry as soon as it closes. */
class ExportReader {
  private readonly path: string[] = [];
  private attributes = 0;
  private fields: Record<string, string> | undefined; // the open <anime> or <myinfo>
  private field: string | undefined; // the open field inside it
  private readonly byId = new Map<number, MalEntry>();
  private readonly invalid: InvalidMalEntry[] = [];
  private duplicates = 0;

  open(tag: { name: string }) {
    this.attributes = 0;
    const depth = this.path.length;
    if (depth >= MAX_DEPTH) throw new MalFormatError("The file's elements nest deeper than a MyAnimeList export's do.");
    this.path.push(tag.name);
    if (depth === 0 && tag.name !== "myanimelist") {
      throw new MalFormatError(`The root element is <${shortened(tag.name)}>, not <myanimelist>: this is not a MyAnimeList export.`);
    }
    if (depth === 1) {
      if (tag.name === "manga") throw mangaExport();
      if (tag.name === "anime" || tag.name === "myinfo") this.fields = Object.create(null) as Record<string, string>;
    } else if (depth === 2 && this.fields && FIELDS_READ.has(tag.name)) {
      this.field = tag.name;
      this.fields[tag.name] = "";
    }
  }

  attribute() {
    if (++this.attributes > MAX_ATTRIBUTES) throw new MalFormatError("An element has more attributes than a MyAnimeList export's do.");
  }

  text(value: string) {
    // Only the text directly inside a field counts (not that of any element nested in it).
    if (this.field === undefined || !this.fields || this.path.length !== 3) return;
    const sofar = this.fields[this.field] ?? "";
    if (sofar.length < MAX_FIELD_CHARS) this.fields[this.field] = sofar + value.slice(0, MAX_FIELD_CHARS - sofar.length);
  }

  close() {
    const name = this.path.pop();
    const depth = this.path.length;
    if (depth === 2) this.field = undefined;
    if (depth !== 1 || !this.fields) return;
    if (name === "anime") this.addAnime(this.fields);
    else if (name === "myinfo" && this.fields.user_export_type?.trim() === "2") throw mangaExport();
    this.fields = undefined;
  }

  result(): ParsedExport {
    return { entries: [...this.byId.values()], invalid: this.invalid, duplicates: this.duplicates };
  }

  private addAnime(fields: Record<string, string>) {
    if (this.byId.size + this.invalid.length >= MAL_LIMITS.entries) {
      throw new MalFormatError(`The file holds more than ${MAL_LIMITS.entries} entries: no MyAnimeList export is that long.`);
    }
    const title = clampCodePoints(fields.series_title ?? "", MAL_LIMITS.title);
    const rawId = fields.series_animedb_id ?? "";
    const malId = parseId(rawId);
    if (malId === undefined) {
      this.invalid.push({ id: clampCodePoints(rawId.trim(), 100), title });
      return;
    }
    if (this.byId.delete(malId)) this.duplicates++; // the last one wins, at the place of its appearance
    this.byId.set(malId, toEntry(malId, title, fields));
  }
}

const mangaExport = () =>
  new MalFormatError("This is a MyAnimeList manga list export: only anime list exports can be imported.");

function toEntry(malId: number, title: string, fields: Record<string, string>): MalEntry {
  const startedOn = parseDate(fields.my_start_date);
  let finishedOn = parseDate(fields.my_finish_date);
  if (startedOn !== null && finishedOn !== null && finishedOn < startedOn) finishedOn = null;
  return {
    malId,
    title,
    status: parseStatus(fields.my_status),
    episodesWatched: Math.min(parseCount(fields.my_watched_episodes) ?? 0, MAL_LIMITS.episodes),
    score: parseScore(fields.my_score),
    rewatches: Math.min(parseCount(fields.my_times_watched) ?? 0, MAL_LIMITS.rewatches),
    startedOn,
    finishedOn,
    notes: clampCodePoints(fields.my_comments ?? "", MAL_LIMITS.notes),
  };
}

function parseId(raw: string): number | undefined {
  const id = parseCount(raw);
  return id !== undefined && id >= 1 && id <= MAL_LIMITS.maxId ? id : undefined;
}

/** A plain non-negative decimal integer, or undefined. Huge values come back as large numbers, for clamping. */
function parseCount(raw: string | undefined): number | undefined {
  const text = raw?.trim();
  if (!text || !/^\d+$/.test(text)) return undefined;
  return text.length > 15 ? Number.MAX_SAFE_INTEGER : Number(text);
}

function parseScore(raw: string | undefined): number | null {
  const score = parseCount(raw);
  return score !== undefined && score >= 1 && score <= 10 ? score : null;
}

/** Folded spelling (lower case, no spaces, dashes or underscores) → status; numbers are MyAnimeList's codes. */
const STATUS_BY_WORD: Record<string, ListStatus> = {
  watching: "watching",
  "1": "watching",
  current: "watching",
  rewatching: "watching",
  completed: "completed",
  "2": "completed",
  onhold: "on_hold",
  "3": "on_hold",
  paused: "on_hold",
  dropped: "dropped",
  "4": "dropped",
  plantowatch: "plan_to_watch",
  "6": "plan_to_watch",
  planning: "plan_to_watch",
};

function parseStatus(raw: string | undefined): ListStatus {
  const word = (raw ?? "").toLowerCase().replace(/[\s_-]+/g, "");
  return STATUS_BY_WORD[word] ?? "plan_to_watch";
}

/**
 * `YYYY-MM-DD` naming a real calendar day (years 0001–9999), or null. MyAnimeList writes `0000-00-00`
 * for no date and `2023-05-00` / `2023-00-00` for a date known only to the month or year: the list
 * holds whole dates only, so those become null rather than an invented day.
 */
export function parseDate(raw: string | undefined): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw?.trim() ?? "");
  if (!match) return null;
  const [, y, m, d] = match as unknown as [string, string, string, string];
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return `${y}-${m}-${d}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** At most `max` code points, never splitting a surrogate pair (PostgreSQL's char_length counts code points). */
export function clampCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  let index = 0;
  for (let count = 0; count < max && index < text.length; count++) {
    index += (text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
  }
  return text.slice(0, index);
}

function shortened(message: string): string {
  return message.length > 160 ? `${message.slice(0, 157)}...` : message;
}

// ---------------------------------------------------------------------------------------------
// Writing

const STATUS_WORDS: Record<ListStatus, string> = {
  watching: "Watching",
  completed: "Completed",
  on_hold: "On-Hold",
  dropped: "Dropped",
  plan_to_watch: "Plan to Watch",
};

/**
 * The list as MyAnimeList's export writes it, field for field and in MyAnimeList's order, entries by
 * MyAnimeList id. `update_on_import` is 1 so that MyAnimeList's importer overwrites entries the user
 * already has there. `omittedCount` entries (anime without a MyAnimeList id) are only counted, in a comment.
 */
export function serializeMalExport(user: { id: number; username: string }, entries: readonly ExportEntry[], omittedCount: number): string {
  const sorted = [...entries].sort((a, b) => a.malId - b.malId);
  const total = (status: ListStatus) => sorted.filter((entry) => entry.status === status).length;
  const out = [
    `<?xml version="1.0" encoding="UTF-8" ?>\n<myanimelist>\n`,
    "\t<myinfo>\n",
    field(2, "user_id", String(user.id)),
    field(2, "user_name", escapeText(user.username)),
    field(2, "user_export_type", "1"),
    field(2, "user_total_anime", String(sorted.length)),
    field(2, "user_total_watching", String(total("watching"))),
    field(2, "user_total_completed", String(total("completed"))),
    field(2, "user_total_onhold", String(total("on_hold"))),
    field(2, "user_total_dropped", String(total("dropped"))),
    field(2, "user_total_plantowatch", String(total("plan_to_watch"))),
    "\t</myinfo>\n",
  ];
  if (omittedCount > 0) {
    const what = omittedCount === 1 ? "1 entry without a MyAnimeList id was" : `${omittedCount} entries without a MyAnimeList id were`;
    out.push(`\t<!-- ${what} left out -->\n`);
  }
  for (const entry of sorted) out.push(animeElement(entry));
  out.push("</myanimelist>\n");
  return out.join("");
}

function animeElement(entry: ExportEntry): string {
  // One template per entry: an export of 10,000 entries is written in one go on a request.
  return `\t<anime>
\t\t<series_animedb_id>${entry.malId}</series_animedb_id>
\t\t<series_title>${cdata(entry.title)}</series_title>
\t\t<series_type>${escapeText(entry.type)}</series_type>
\t\t<series_episodes>${entry.numEpisodes}</series_episodes>
\t\t<my_id>0</my_id>
\t\t<my_watched_episodes>${entry.episodesWatched}</my_watched_episodes>
\t\t<my_start_date>${entry.startedOn ?? "0000-00-00"}</my_start_date>
\t\t<my_finish_date>${entry.finishedOn ?? "0000-00-00"}</my_finish_date>
\t\t<my_rated></my_rated>
\t\t<my_score>${entry.score ?? 0}</my_score>
\t\t<my_storage></my_storage>
\t\t<my_storage_value>0.00</my_storage_value>
\t\t<my_status>${STATUS_WORDS[entry.status]}</my_status>
\t\t<my_comments>${cdata(entry.notes)}</my_comments>
\t\t<my_times_watched>${entry.rewatches}</my_times_watched>
\t\t<my_rewatch_value></my_rewatch_value>
\t\t<my_priority>LOW</my_priority>
\t\t<my_tags><![CDATA[]]></my_tags>
\t\t<my_rewatching>0</my_rewatching>
\t\t<my_rewatching_ep>0</my_rewatching_ep>
\t\t<my_discuss>1</my_discuss>
\t\t<my_sns>default</my_sns>
\t\t<update_on_import>1</update_on_import>
\t</anime>
`;
}

const field = (indent: number, name: string, content: string) => `${"\t".repeat(indent)}<${name}>${content}</${name}>\n`;

// XML 1.0 cannot carry these at all, not even as character references.
const NON_XML_CHARACTERS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const HAS_NON_XML_CHARACTER = new RegExp(NON_XML_CHARACTERS.source, "u");

/** The text without the characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
export function xmlCharactersOnly(text: string): string {
  return HAS_NON_XML_CHARACTER.test(text) ? text.replace(NON_XML_CHARACTERS, "") : text;
}

function escapeText(text: string): string {
  const safe = xmlCharactersOnly(text);
  return /[&<>\r]/.test(safe) ? safe.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;") : safe;
}

/**
 * A CDATA section, as MyAnimeList writes titles and comments. A `]]>` inside is split across two
 * sections; a carriage return is written as `&#13;` between sections, since a parser turns a raw CR
 * (even inside CDATA) into a line feed.
 */
function cdata(text: string): string {
  let safe = xmlCharactersOnly(text);
  if (safe.includes("]]>")) safe = safe.replaceAll("]]>", "]]]]><![CDATA[>");
  if (safe.includes("\r")) safe = safe.replaceAll("\r", "]]>&#13;<![CDATA[");
  return `<![CDATA[${safe}]]>`;
}
