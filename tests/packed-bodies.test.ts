// PackedBodies: the catalogue's whole-catalogue buffer (src/anime/packed-bodies.ts).
import { expect, test } from "bun:test";
import fc from "fast-check";
import { PackedBodies, positionOfId } from "../src/anime/packed-bodies.ts";

const decode = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

test("every body comes back byte for byte, non-ASCII included; unknown ids are undefined", () => {
  const builder = PackedBodies.builder(10 * 1024 * 1024);
  const bodies = new Map<number, string>();
  for (let id = 5; id < 20_000; id += 7) {
    const body = JSON.stringify({ id, title: `東京 École ${"x".repeat(id % 97)}`, tags: ["Zombies", "École"] });
    bodies.set(id, body);
    expect(builder.add(id, body)).toBe(true);
  }
  const packed = builder.build();
  for (const [id, body] of bodies) expect(decode(packed.get(id))).toBe(body);
  for (const missing of [0, 1, 6, 19_999, 2_147_483_647]) expect(packed.get(missing)).toBeUndefined();
});

test("the builder refuses what would exceed its budget", () => {
  const builder = PackedBodies.builder(1_000);
  let added = 0;
  while (builder.add(added + 1, "y".repeat(100))) added++;
  expect(added).toBeGreaterThanOrEqual(9);
  expect(added).toBeLessThanOrEqual(10);
  expect(builder.build().byteLength).toBeLessThanOrEqual(1_000);
});

test("at(position, id) answers the body at that position only when it holds that id", () => {
  const builder = PackedBodies.builder(1024 * 1024);
  for (const id of [3, 8, 21]) builder.add(id, JSON.stringify({ id }));
  const packed = builder.build();
  expect(decode(packed.at(1, 8))).toBe('{"id":8}');
  expect(decode(packed.at(2, 21))).toBe('{"id":21}');
  expect(packed.at(1, 21)).toBeUndefined(); // another id there: the caller falls back to get(id)
  expect(packed.at(3, 4)).toBeUndefined(); // past the end
});

test("positionOfId finds every id of any ascending id list (contiguous, with gaps, sparse) and -1 for any other", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 2_147_483_647 })), { maxLength: 80 }),
      fc.array(fc.integer({ min: -5, max: 2_147_483_647 }), { maxLength: 20 }),
      (values, others) => {
        const ids = Int32Array.from(values).sort();
        ids.forEach((id, position) => expect(positionOfId(ids, id)).toBe(position));
        for (const id of [...others, 0, 61, ...[...ids].map((id) => id + 1), ...[...ids].map((id) => id - 1)]) {
          expect(positionOfId(ids, id)).toBe(ids.indexOf(id));
        }
      },
    ),
    { numRuns: 500 },
  );
});
