// The JSON text of list entries after their anime's body (`,"status":…,"updated":"…"}`), written as
// bytes into one buffer for the list cache, exactly as entryJsonParts writes it in SQL
// (tests/list-cache.test.ts compares the two byte for byte). A whole list is written at once when it is
// read (~270 bytes an entry), so this writes bytes in plain loops: no per-entry strings to build and
// encode, which took most of a list's read.
import type { ListStatus } from "./schemas.ts";

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
const STATUS = new Map<string, Uint8Array>();
const statusBytes = (status: ListStatus) => {
  let bytes = STATUS.get(status);
  if (!bytes) STATUS.set(status, (bytes = ascii(`,"status":"${status}`)));
  return bytes;
};

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

/** Writes entries' texts one after another; each entry's fields, notes (`,"notes":"…"`) and times are measured. */
export class EntryTextWriter {
  private bytes: Buffer;
  private at = 0;
  private readonly days = new Map<number, Uint8Array>();

  /** `notesBytes`: the notes' bytes the entries will hold, all told (escaping may add more: the buffer grows). */
  constructor(entries: number, notesBytes: number) {
    this.bytes = Buffer.allocUnsafe(entries * MAX_BYTES_BESIDES_NOTES + notesBytes);
  }

  /** Writes the entry; its fields', notes' and times' lengths. `notes` are the inside of the notes' JSON string, as UTF-8. */
  write(entry: EntryValues, notes: Uint8Array): [fields: number, notes: number, times: number] {
    this.ensure(MAX_BYTES_BESIDES_NOTES + notes.length);
    const start = this.at;
    this.copy(statusBytes(entry.status));
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
    return [notesStart - start, timesStart - notesStart, this.at - timesStart];
  }

  /** The texts written, in a buffer of their size. */
  text(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.at));
  }

  private ensure(bytes: number) {
    if (this.at + bytes <= this.bytes.length) return;
    const larger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.at + bytes));
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

  /** The day's ISO date, written once per list: a list's dates and times share few days. */
  private isoDay(days: number): Uint8Array {
    let iso = this.days.get(days);
    if (!iso) {
      iso = ascii(fourDigitYear(new Date(days * MS_PER_DAY).toISOString()).slice(0, 10));
      this.days.set(days, iso);
    }
    return iso;
  }
}

/** An ISO text whose year has four digits (years 1–9999, as to_char writes them); anything else is not written as PostgreSQL would. */
function fourDigitYear(iso: string): string {
  if (!/^\d{4}-/.test(iso) || iso.startsWith("0000")) throw new Error(`a date outside the years 1-9999: ${iso}`);
  return iso;
}
