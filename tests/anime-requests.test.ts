// Reading the ids of GET /anime/entries (src/anime/requests.ts): its one-pass reading of the common
// form (digits and commas) against the contract's rules written plainly, property-based.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { HttpError, messages } from "../src/http/errors.ts";
import { bulkIdsMessage, readBulkIds } from "../src/anime/requests.ts";

/** The rules, item by item: trimmed items, each `+`? digits and positive; ≤ 100; above 2^31-1 unknown; duplicates once. */
function plainly(raw: string): number[] | { status: number; body: unknown } {
  if (raw.trim() === "") return { status: 400, body: { ids: [messages.blank] } };
  const items = raw.split(",").map((item) => item.trim());
  if (items.length > 100 || !items.every((item) => /^\+?\d+$/.test(item) && /[1-9]/.test(item))) return { status: 400, body: { ids: [bulkIdsMessage] } };
  return [...new Set(items.map(Number).filter((id) => id <= 2_147_483_647))];
}

function read(raw: string): number[] | { status: number; body: unknown } {
  try {
    return readBulkIds({ ids: raw });
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { status: error.status, body: error.body };
  }
}

test("readBulkIds reads any text as the rules say (ids in order, duplicates once, the same 400s)", () => {
  const id = fc.oneof(
    fc.integer({ min: 0, max: 60 }).map(String),
    fc.integer({ min: 1, max: 2_147_483_647 }).map(String),
    fc.stringMatching(/^[0-9]{1,25}$/),
    fc.constantFrom("2147483647", "2147483648", "007", "0", "00", "+5", " 5", "5 ", "", "x", "-1", "1e3", "٣"),
  );
  const texts = fc.oneof(
    fc.array(id, { maxLength: 110 }).map((ids) => ids.join(",")),
    fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 95, maxLength: 105 }).map((ids) => ids.join(",")),
    fc.stringMatching(/^[0-9, +]{0,40}$/),
  );
  fc.assert(fc.property(texts, (raw) => expect(read(raw)).toEqual(plainly(raw))), { numRuns: 3000 });
  expect(read("")).toEqual(plainly(""));
  expect(read("1,2,1,3")).toEqual([1, 2, 3]);
});
