// The in-memory token index (src/auth/token-index.ts) against a plain Map, under random sequences of
// adds, removals (one at a time, or all of one user's by digest, as logoutall announces them) and
// expiry sweeps. Digests are drawn so that many share their
// first word (the hash), which makes long probe runs, wrap-arounds at the end of the table and
// backward shifts across them the common case rather than the rare one. No server, no database: the
// index inside a running server is tokens-in-memory.test.ts's subject.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { NOT_USED, TokenIndex } from "../src/auth/token-index.ts";

type Op =
  | { kind: "add"; key: number[]; owner: number; expiry: number }
  | { kind: "remove"; key: number[] }
  | { kind: "removeUser"; owner: number }
  | { kind: "use"; key: number[]; minute: number }
  | { kind: "removeExpired"; now: number };

// A word near 2^32 - 1 has its home at the table's last slots: runs from there wrap to the start.
const word0 = fc.constantFrom(0, 1, 7, 0x7fffffff, 0xfffffff0, 0xffffffff);
// Word 3: the index keeps only its high 16 bits (112 digest bits in all); its low bits vary freely.
// High halves with the top bit set too (stored through signed 32-bit arithmetic).
const word3 = fc
  .tuple(fc.constantFrom(0, 1, 2, 0x8000, 0xffff), fc.integer({ min: 0, max: 0xffff }))
  .map(([high, low]) => high * 0x10000 + low);
const key = fc.tuple(word0, fc.integer({ min: 0, max: 3 }), fc.constant(9), word3);
const owner = fc.integer({ min: 1, max: 4 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("add" as const), key, owner, expiry: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("removeUser" as const), owner }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("use" as const), key, minute: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("removeExpired" as const), now: fc.integer({ min: 0, max: 10 }) }) },
);

const words = (key: number[]) => Uint32Array.from(key);
/** Tokens are told apart by their first 112 digest bits. */
const id = (key: number[]) => [key[0], key[1], key[2], key[3]! >>> 16].join(",");
/** The index says the token was used in `used` (the model's last use) and in no other minute of the ops' range. */
const expectLastUse = (index: TokenIndex, slot: number, used: number) => {
  for (let minute = 1; minute <= 5; minute++) expect(index.usedIn(slot, minute)).toBe(minute === used);
};

describe("TokenIndex", () => {
  test("agrees with a Map under any sequence of changes (colliding hashes, growth, wrap-around)", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 0, max: 10 }), (ops, now) => {
        const index = new TokenIndex(1_000_000);
        const model = new Map<string, { key: number[]; owner: number; expiry: number; used: number }>();
        for (const change of ops) {
          if (change.kind === "add") {
            expect(index.add(words(change.key), change.owner, change.expiry)).toBe(true);
            model.set(id(change.key), { ...change, used: model.get(id(change.key))?.used ?? NOT_USED });
          } else if (change.kind === "remove") {
            index.remove(words(change.key));
            model.delete(id(change.key));
          } else if (change.kind === "removeUser") {
            // The user's digests, as the database returns them from logoutall's delete.
            const expected = [...model.values()].filter((entry) => entry.owner === change.owner);
            for (const entry of expected) {
              index.remove(words(entry.key));
              model.delete(id(entry.key));
            }
          } else if (change.kind === "use") {
            // The last-use word travels with its token through growth and backward shifts.
            const slot = index.liveSlot(words(change.key), 0);
            const entry = model.get(id(change.key));
            expect(slot >= 0).toBe(entry !== undefined);
            if (entry) {
              expectLastUse(index, slot, entry.used);
              index.markUsedAt(slot, change.minute);
              entry.used = change.minute;
            }
          } else {
            const removed = index.removeExpired(change.now);
            const expected = [...model.values()].filter((entry) => entry.expiry <= change.now);
            for (const entry of expected) model.delete(id(entry.key));
            expect(removed).toBe(expected.length);
          }
          expect(index.size).toBe(model.size);
        }
        for (const entry of model.values()) {
          expect(index.owner(words(entry.key), now)).toBe(entry.expiry > now ? entry.owner : undefined);
          const slot = index.liveSlot(words(entry.key), 0);
          expectLastUse(index, slot, entry.used);
        }
        // Keys never added (word 2 is always 9 above) are never found.
        expect(index.owner(Uint32Array.from([0, 0, 8, 0]), 0)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  test("grows past its initial capacity and finds every one of 100,000 random digests", () => {
    const index = new TokenIndex(1_000_000);
    const keys = Array.from({ length: 100_000 }, () => crypto.getRandomValues(new Uint32Array(4)));
    keys.forEach((digest, i) => index.add(digest, i + 1, 100));
    expect(index.size).toBe(keys.length);
    keys.forEach((digest, i) => expect(index.owner(digest, 50)).toBe(i + 1));
    expect(index.owner(crypto.getRandomValues(new Uint32Array(4)), 50)).toBeUndefined();
    // 24 bytes a slot, at most 85% full, at least 85%/1.5 after growth by half: 28 to 43 bytes a token.
    expect(index.bytes / index.size).toBeLessThan(43);
  });

  test("sized for a load, it takes the whole load without growing", () => {
    const index = new TokenIndex(1_000_000);
    index.clear(50_000);
    const bytes = index.bytes;
    for (let i = 0; i < 56_000; i++) index.add(crypto.getRandomValues(new Uint32Array(4)), 1, 100);
    expect(index.bytes).toBe(bytes);
    expect(index.size).toBe(56_000);
  });

  test("refuses tokens beyond its maximum, and updates the ones it has", () => {
    const index = new TokenIndex(2);
    expect(index.add(Uint32Array.from([1, 0, 0, 0]), 1, 10)).toBe(true);
    expect(index.add(Uint32Array.from([2, 0, 0, 0]), 2, 10)).toBe(true);
    expect(index.add(Uint32Array.from([3, 0, 0, 0]), 3, 10)).toBe(false);
    expect(index.add(Uint32Array.from([2, 0, 0, 0]), 5, 20)).toBe(true);
    expect(index.owner(Uint32Array.from([2, 0, 0, 0]), 15)).toBe(5);
    expect(index.owner(Uint32Array.from([3, 0, 0, 0]), 0)).toBeUndefined();
    expect(index.size).toBe(2);
  });

  test("adding a token it has keeps the later of the two last uses", () => {
    const index = new TokenIndex(10);
    const key = Uint32Array.from([5, 0, 0, 0]);
    const usedIn = (minute: number) => index.usedIn(index.liveSlot(key, 0), minute);
    index.add(key, 1, 10, 7);
    expect(usedIn(7)).toBe(true);
    index.add(key, 1, 10, 3);
    expect([usedIn(7), usedIn(3)]).toEqual([true, false]);
    index.add(key, 1, 10);
    expect(usedIn(7)).toBe(true);
    index.add(key, 1, 10, 9);
    expect([usedIn(9), usedIn(7)]).toEqual([true, false]);
    expect(index.liveSlot(key, 10)).toBe(-1); // expired
  });

  test("keeps the last use of today's minutes, across the stamp's wrap", () => {
    const index = new TokenIndex(10);
    const key = Uint32Array.from([5, 0, 0, 0]);
    const now = Math.floor(Date.UTC(2026, 10, 29, 12, 0) / 60_000);
    index.add(key, 1, 10);
    const slot = index.liveSlot(key, 0);
    expect(index.usedIn(slot, now)).toBe(false); // never used: no minute matches
    index.markUsedAt(slot, now);
    expect([index.usedIn(slot, now), index.usedIn(slot, now - 1), index.usedIn(slot, now + 1)]).toEqual([true, false, false]);
    // Minutes are kept in 16 bits: a use ~45 days later is told apart from this one's neighbours, and
    // a later use replaces an earlier one whichever side of the wrap it falls.
    for (const later of [now + 1, now + 0xffff - (now % 0xffff), now + 30_000]) {
      index.add(key, 1, 10, later);
      expect(index.usedIn(slot, later)).toBe(true);
      index.add(key, 1, 10, later - 5);
      expect(index.usedIn(slot, later)).toBe(true);
    }
  });

  test("tells tokens apart by their first 112 digest bits", () => {
    const index = new TokenIndex(10);
    index.add(Uint32Array.from([1, 2, 3, 0x00010000]), 1, 10);
    index.add(Uint32Array.from([1, 2, 3, 0x00020000]), 2, 10);
    expect(index.owner(Uint32Array.from([1, 2, 3, 0x0001ffff]), 0)).toBe(1);
    expect(index.owner(Uint32Array.from([1, 2, 3, 0x00020001]), 0)).toBe(2);
    expect(index.owner(Uint32Array.from([1, 2, 3, 0x00030000]), 0)).toBeUndefined();
    expect(index.size).toBe(2);
  });
});
