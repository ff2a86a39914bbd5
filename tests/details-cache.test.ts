// The details cache (a ring bounded by its budget, counting hits and misses) and the batching of its
// misses (src/anime/details-cache.ts), on their own.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { BatchedReads, type DetailsAnswer, DetailsCache, detailsAnswer } from "../src/anime/details-cache.ts";

describe("DetailsCache", () => {
  const text = (answer: DetailsAnswer | undefined) => (answer ? `${new TextDecoder().decode(answer.body)} ${answer.etag}` : undefined);

  test("keeps answers within its budget, oldest out first, and counts hits and misses", () => {
    const answers = [1, 2, 3, 4].map((id) => detailsAnswer(`{"id":${id},"title":"${"x".repeat(1000)}"}`));
    const size = answers[0]!.body.byteLength;
    const cache = new DetailsCache(size * 3);
    for (const id of [1, 2, 3]) cache.set(id, answers[id - 1]!);
    expect(text(cache.get(1))).toBe(text(answers[0]));
    cache.set(4, answers[3]!); // overwrites the oldest, 1, however recently it was read
    expect(cache.get(1)).toBeUndefined();
    expect([2, 3, 4].map((id) => text(cache.get(id)))).toEqual([2, 3, 4].map((id) => text(answers[id - 1])));
    expect(cache.state()).toEqual({ entries: 3, bytes: size * 3, hits: 4, misses: 1 });
    cache.clear();
    expect(cache.get(2)).toBeUndefined();
    expect(cache.state()).toMatchObject({ entries: 0, bytes: 0 });
  });

  test("keeps a copy: the caller's answer may change or go", () => {
    const answer = detailsAnswer('{"id":1}');
    const cache = new DetailsCache(1024);
    cache.set(1, answer);
    answer.body.fill(0);
    expect(new TextDecoder().decode(cache.get(1)!.body)).toBe('{"id":1}');
  });

  test("any sequence of answers: every one held is the last kept for its id, byte for byte, within the budget", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 12 }), fc.string({ minLength: 0, maxLength: 120 })), { maxLength: 200 }),
        (budget, writes) => {
          const cache = new DetailsCache(budget);
          const last = new Map<number, DetailsAnswer>();
          for (const [id, body] of writes) {
            const answer = detailsAnswer(body);
            cache.set(id, answer);
            last.set(id, answer);
            let held = 0;
            for (const [known, expected] of last) {
              const got = cache.get(known);
              if (got === undefined) continue;
              expect(text(got)).toBe(text(expected));
              held += got.body.byteLength;
            }
            expect(held).toBeLessThanOrEqual(budget);
            expect(cache.state().bytes).toBe(held);
          }
          // The answer kept last is held whenever it fits.
          const final = writes.at(-1);
          if (final) {
            const size = detailsAnswer(final[1]).body.byteLength;
            if (size > 0 && size <= budget) expect(cache.get(final[0])).toBeDefined();
          }
        },
      ),
    );
  });

  test("a budget of 0 keeps nothing", () => {
    const cache = new DetailsCache(0);
    cache.set(1, detailsAnswer("{}"));
    expect(cache.get(1)).toBeUndefined();
    expect(cache.state()).toEqual({ entries: 0, bytes: 0, hits: 0, misses: 1 });
  });

  test("an answer is the body's UTF-8 bytes with a strong ETag that changes with them", () => {
    const a = detailsAnswer('{"title":"Tokyo Ghoul √A"}');
    expect(new TextDecoder().decode(a.body)).toBe('{"title":"Tokyo Ghoul √A"}');
    expect(a.etag).toMatch(/^"[^"]+"$/);
    expect(detailsAnswer('{"title":"Tokyo Ghoul √A"}').etag).toBe(a.etag);
    expect(detailsAnswer('{"title":"Tokyo Ghoul"}').etag).not.toBe(a.etag);
  });
});

describe("BatchedReads", () => {
  function recordingReader(maxBatch: number, fail = false) {
    const batches: number[][] = [];
    const reads = new BatchedReads(async (keys) => {
      batches.push(keys);
      if (fail) throw new Error("the database is gone");
      return new Map(keys.filter((key) => key % 2 === 0).map((key) => [key, `value ${key}`]));
    }, maxBatch);
    return { reads, batches };
  }

  test("keys asked for in one turn go in one read (a key twice, once), unknown keys answer undefined", async () => {
    const { reads, batches } = recordingReader(32);
    const answers = await Promise.all([2, 3, 4, 2].map((key) => reads.get(key)));
    expect(answers).toEqual(["value 2", undefined, "value 4", "value 2"]);
    expect(batches).toEqual([[2, 3, 4]]);
    expect(await reads.get(6)).toBe("value 6"); // a later turn: a new read
    expect(batches).toEqual([[2, 3, 4], [6]]);
  });

  test("a batch holds at most maxBatch keys", async () => {
    const { reads, batches } = recordingReader(3);
    const keys = Array.from({ length: 8 }, (_, i) => i * 2);
    expect(await Promise.all(keys.map((key) => reads.get(key)))).toEqual(keys.map((key) => `value ${key}`));
    expect(batches).toEqual([[0, 2, 4], [6, 8, 10], [12, 14]]);
  });

  test("a failed read fails every request waiting on it, and the next turn reads again", async () => {
    const failing = recordingReader(32, true);
    const results = await Promise.allSettled([1, 2].map((key) => failing.reads.get(key)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    const { reads } = recordingReader(32);
    expect(await reads.get(2)).toBe("value 2");
  });
});
