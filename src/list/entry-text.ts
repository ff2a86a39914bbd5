// The JSON text of list entries after their anime's body (`,"status":…,"updated":"…"}`), written as
// bytes for the list cache, exactly as entryJsonParts writes it in SQL (tests/list-cache.test.ts
// compares the two byte for byte). An entry's text is written when a page first shows it, in plain
// loops: no per-entry strings to build and encode.
import { LIST_STATUSES, type ListStatus } from "./schemas.ts";

const MS_PER_DAY = 86_400_000;
/** The most bytes an entry's text takes besides its notes (long numbers and both dates included). */
const MAX_BYTES_BESIDES_NOTES = 320;

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const EPISODES = ascii('","episodes_watched":');
const SCORE = ascii(',"score":');
const NULL = ascii("null");
const REWATCHES = ascii(',"rewatches":');
const PRIVATE_TRUE = ascii(',"private":true,"started_on":');
const PRIVATE_FALSE = ascii(',"private":false,"started_on":');
const FINISHED = ascii(',"finished_on":');
const NOTES = ascii(',"notes":"');
const CREATED = ascii(',"created":"');
const UPDATED = ascii('","updated":"');
const END = ascii('"}');
const STATUS = new Map(LIST_STATUSES.map((status) => [status, ascii(`,"status":"${status}`)]));

/** One entry's values, as the list cache reads them (a score of 0 is none; dates in days since 1970, NaN for none). */
export interface EntryValues {
  status: ListStatus;
  episodesWatched: number;
  score: number;
  rewatches: number;
  isPrivate: boolean;
  startedDays: number;
  finishedDays: number;
  createdMicros: number;
  updatedMicros: number;
}

/** Entries' texts, written one after another into one buffer that grows as entries are added. */
export class EntryTexts {
  private bytes = Buffer.alloc(0);
  private at = 0;

  /** `firstBytes`: the size of the buffer the first text is written into (it grows by doubling). */
  constructor(private readonly firstBytes: number) {}

  /** The bytes the texts hold, written or not yet. */
  get byteLength(): number {
    return this.bytes.byteLength;
  }

  /**
   * Appends the entry's text (`notes`: the inside of the notes' JSON string, as UTF-8, see
   * jsonNotes); where it starts, and its fields', notes' (`,"notes":"…"`) and times' lengths.
   */
  append(entry: EntryValues, notes: Uint8Array): [start: number, fields: number, notes: number, times: number] {
    this.ensure(MAX_BYTES_BESIDES_NOTES + notes.length);
    const start = this.at;
    this.copy(STATUS.get(entry.status)!);
    this.copy(EPISODES);
    this.integer(entry.episodesWatched);
    this.copy(SCORE);
    if (entry.score === 0) this.copy(NULL);
    else this.integer(entry.score);
    this.copy(REWATCHES);
    this.integer(entry.rewatches);
    this.copy(entry.isPrivate ? PRIVATE_TRUE : PRIVATE_FALSE);
    this.date(entry.startedDays);
    this.copy(FINISHED);
    this.date(entry.finishedDays);
    const notesStart = this.at;
    this.copy(NOTES);
    this.copy(notes);
    this.bytes[this.at++] = 0x22;
    const timesStart = this.at;
    this.copy(CREATED);
    this.time(entry.createdMicros);
    this.copy(UPDATED);
    this.time(entry.updatedMicros);
    this.copy(END);
    return [start, notesStart - start, timesStart - notesStart, this.at - timesStart];
  }

  /** Copies the bytes from `start` to `end` into `target` at `at`; how many. */
  copyTo(target: Buffer, at: number, start: number, end: number): number {
    return this.bytes.copy(target, at, start, end);
  }

  private ensure(bytes: number) {
    if (this.at + bytes <= this.bytes.length) return;
    const larger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.at + bytes, this.firstBytes));
    this.bytes.copy(larger, 0, 0, this.at);
    this.bytes = larger;
  }

  private copy(source: Uint8Array) {
    const { bytes } = this;
    let at = this.at;
    for (let k = 0; k < source.length; k++) bytes[at++] = source[k]!;
    this.at = at;
  }

  /** A whole number as JSON writes it. */
  private integer(value: number) {
    if (value < 0) {
      this.bytes[this.at++] = 0x2d;
      value = -value;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.digits(value, digits);
  }

  /** `value`'s last `count` digits, zero-padded. */
  private digits(value: number, count: number) {
    for (let k = count - 1; k >= 0; k--) {
      this.bytes[this.at + k] = 0x30 + (value % 10);
      value = Math.floor(value / 10);
    }
    this.at += count;
  }

  /** A date (days since 1970, NaN for none) as `"2024-05-01"` or null. */
  private date(days: number) {
    if (Number.isNaN(days)) return this.copy(NULL);
    this.bytes[this.at++] = 0x22;
    this.copy(this.isoDay(days));
    this.bytes[this.at++] = 0x22;
  }

  /** A time (microseconds since 1970) as toISOString writes it once they are floored to milliseconds (as to_char's MS truncates them). */
  private time(micros: number) {
    const ms = Math.floor(micros / 1000);
    const day = Math.floor(ms / MS_PER_DAY);
    const inDay = ms - day * MS_PER_DAY;
    this.copy(this.isoDay(day));
    this.bytes[this.at++] = 0x54; // T
    this.digits(Math.floor(inDay / 3_600_000), 2);
    this.bytes[this.at++] = 0x3a;
    this.digits(Math.floor(inDay / 60_000) % 60, 2);
    this.bytes[this.at++] = 0x3a;
    this.digits(Math.floor(inDay / 1000) % 60, 2);
    this.bytes[this.at++] = 0x2e;
    this.digits(inDay % 1000, 3);
    this.bytes[this.at++] = 0x5a; // Z
  }

  private isoDay(days: number): Uint8Array {
    let iso = ISO_DAYS.get(days);
    if (!iso) {
      if (ISO_DAYS.size >= ISO_DAYS_KEPT) ISO_DAYS.clear();
      // The whole-list read keeps dates within the years 1–9999 and times within 1715–2284: four-digit years, as to_char writes them.
      iso = ascii(new Date(days * MS_PER_DAY).toISOString().slice(0, 10));
      ISO_DAYS.set(days, iso);
    }
    return iso;
  }
}

/** Days (since 1970) as ISO dates, each written once while it is kept: entries' dates and times share few days. */
const ISO_DAYS = new Map<number, Uint8Array>();
const ISO_DAYS_KEPT = 4096;

/**
 * Whether text (UTF-8 bytes from `start` to `end`) holds a character that a JSON string escapes: a quote, a backslash or a
 * control character. Without one, the text's bytes are the inside of its JSON string, as to_json and
 * JSON.stringify write it (PostgreSQL text holds no lone surrogate, the other thing they escape).
 */
function needsJsonEscape(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    if (byte < 0x20 || byte === 0x22 || byte === 0x5c) return true;
  }
  return false;
}

/** The inside of the JSON string of the notes (UTF-8 bytes from `start` to `end`): the bytes themselves, unless a character needs escaping. */
export function jsonNotes(bytes: Buffer, start: number, end: number): Uint8Array {
  if (!needsJsonEscape(bytes, start, end)) return bytes.subarray(start, end);
  return Buffer.from(JSON.stringify(bytes.toString("utf8", start, end)).slice(1, -1));
}
