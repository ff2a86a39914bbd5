// When the timed nursery collections run (src/http/garbage.ts): every 40 ms tick while the main
// thread is nearly saturated, every 200 ms otherwise.
import { describe, expect, test } from "bun:test";
import { nurseryCollectionDue } from "../src/http/garbage.ts";

/** The ticks (of 40 ms) on which a thread using `cpuMsPerTick` each tick gets a collection, over `ticks` ticks. */
function collectingTicks(cpuMsPerTick: number, ticks: number): number[] {
  const collected: number[] = [];
  let since = 0;
  for (let tick = 1; tick <= ticks; tick++) {
    since += 40;
    if (!nurseryCollectionDue(cpuMsPerTick, since)) continue;
    collected.push(tick);
    since = 0;
  }
  return collected;
}

describe("nursery collections", () => {
  test("a saturated main thread gets one every tick", () => {
    expect(collectingTicks(40, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(collectingTicks(30, 5)).toEqual([1, 2, 3, 4, 5]); // 75% of the tick
  });

  test("a thread waiting on the database (half busy) keeps the 200 ms pace", () => {
    expect(collectingTicks(20, 10)).toEqual([5, 10]);
    expect(collectingTicks(29, 10)).toEqual([5, 10]);
  });

  test("an idle thread gets one every 200 ms", () => {
    expect(collectingTicks(0, 15)).toEqual([5, 10, 15]);
  });
});
