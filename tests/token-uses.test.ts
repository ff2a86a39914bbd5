// The queue of token uses waiting to be written (src/auth/token-uses.ts): bounded, copies what it is
// given (the caller reuses its scratch buffer), and gives back exactly what was queued.
import { expect, test } from "bun:test";
import { TokenUses } from "../src/auth/token-uses.ts";

const digest = (byte: number) => new Uint8Array(32).fill(byte);

test("queues copies of digests with their minutes, and takes them all at once", () => {
  const uses = new TokenUses(4);
  const scratch = digest(1);
  expect(uses.push(scratch, 100)).toBe(true);
  scratch.fill(2); // the caller's buffer is reused for the next check
  expect(uses.push(scratch, 101)).toBe(true);
  expect(uses.size).toBe(2);
  expect(uses.take()).toEqual({ digests: ["01".repeat(32), "02".repeat(32)], minutes: [100, 101] });
  expect(uses.size).toBe(0);
  expect(uses.take()).toEqual({ digests: [], minutes: [] });
});

test("refuses uses beyond its capacity; a batch that failed goes back as far as it fits", () => {
  const uses = new TokenUses(2);
  expect(uses.push(digest(1), 1)).toBe(true);
  expect(uses.push(digest(2), 2)).toBe(true);
  expect(uses.full).toBe(true);
  expect(uses.push(digest(3), 3)).toBe(false);
  const batch = uses.take();
  expect(uses.push(digest(4), 4)).toBe(true);
  uses.restore(batch);
  expect(uses.take()).toEqual({ digests: ["04".repeat(32), "01".repeat(32)], minutes: [4, 1] });
});
