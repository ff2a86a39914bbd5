// In-process speed of the search engine on the bench's search row: the generated catalogue of N entries
// and exactly the row's 3,000 realistic queries (bench/find-mixes.ts), each timed alone.
//   bun bench/search-speed.ts [--entries 40000,400000] [--rounds 3] [--slowest 10] [--full]
// Prints per size: build time, memoryBytes, µs per query (mean, p50, p99, max) over the best of the
// rounds for each query (process CPU time, which the machine's other load distorts less than the clock),
// and the slowest queries. Each query is timed as the catalogue asks it for page 1 (rankSearch: the
// count and the first 100 ranks, here on a filter index of the ids alone); --full times the engine's
// full ordering of every match (SearchIndex.search) instead. The index remembers each word's typo walk
// (1 MiB), so the timed rounds (after the JIT warm-up round) find most words' walks known, as a server
// answering repeated words does: the figures are not those of a first query.
import { generateEntries } from "../scripts/generate-catalogue.ts";
import { FilterIndex } from "../src/anime/filter-index.ts";
import { rankSearch } from "../src/anime/search-ranking.ts";
import { SearchIndex } from "../src/anime/search/index.ts";
import { SEARCH_SAMPLE_SIZE, findingRows, searchSampleStep } from "./find-mixes.ts";

const args = Bun.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
};
const SIZES = option("entries", "40000,400000").split(",").map(Number);
const ROUNDS = Number(option("rounds", "3"));
const SLOWEST = Number(option("slowest", "10"));
const FULL = args.includes("--full");

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

for (const n of SIZES) {
  const entries = generateEntries(n).map((entry, index) => ({ id: index + 1, title: entry.title, synonyms: entry.synonyms }));
  const step = searchSampleStep(n);
  const sample = entries.filter((entry) => entry.id % step === 0).slice(0, SEARCH_SAMPLE_SIZE);
  const row = findingRows(n, { min: 1, max: n }, sample).find((r) => r.scenario === "search")!;
  const queries = row.paths.map((path) => decodeURIComponent(path.slice(path.indexOf("q=") + 2)));
  Bun.gc(true);
  const heapBefore = process.memoryUsage().heapUsed;
  let started = performance.now();
  const index = SearchIndex.build(entries);
  const buildMs = performance.now() - started;
  started = performance.now();
  await SearchIndex.buildInBackground(entries);
  const backgroundMs = performance.now() - started;
  const none8 = new Uint8Array(n);
  const none32 = new Int32Array(n);
  const ids = Int32Array.from(entries, (entry) => entry.id);
  const filterIndex = new FilterIndex({
    ids, types: none8, statuses: none8, seasons: none8, years: none32, episodes: none32, scores: none32, titleRanks: none32, tags: new Map(), studios: new Map(),
  });
  const count = (q: string) => (FULL ? index.search(q).length : rankSearch(index, filterIndex, q, {}, "relevance", 20).count);
  Bun.gc(true);
  const best = new Float64Array(queries.length).fill(Infinity);
  const counts = new Int32Array(queries.length);
  for (let round = 0; round < ROUNDS + 1; round++) {
    queries.forEach((q, i) => {
      const t = process.cpuUsage();
      counts[i] = count(q);
      const used = process.cpuUsage(t);
      const us = used.user + used.system;
      if (round > 0 && us < best[i]!) best[i] = us; // round 0 warms the JIT
    });
  }
  const times = [...best];
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(
    `${n.toLocaleString("en-US")} entries: build ${buildMs.toFixed(0)} ms (in background slices ${backgroundMs.toFixed(0)} ms), ` +
      `memoryBytes ${(index.memoryBytes / 1048576).toFixed(2)} MiB (heap +${((process.memoryUsage().heapUsed - heapBefore) / 1048576).toFixed(0)} MiB incl. documents)`,
  );
  console.log(
    `  ${queries.length} queries (${FULL ? "every match ordered" : "count and first 100 ranks"}), µs/query: mean ${mean.toFixed(1)}, p50 ${quantile(sorted, 0.5).toFixed(1)}, p90 ${quantile(sorted, 0.9).toFixed(1)}, ` +
      `p99 ${quantile(sorted, 0.99).toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)}; mean matches ${(counts.reduce((a, b) => a + b, 0) / counts.length).toFixed(0)}`,
  );
  const cjk = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]/u;
  const part = (test: (q: string) => boolean) => {
    const chosen = times.filter((_, i) => test(queries[i]!)).sort((a, b) => a - b);
    return `${chosen.length} queries mean ${(chosen.reduce((a, b) => a + b, 0) / chosen.length).toFixed(1)} µs, p99 ${quantile(chosen, 0.99).toFixed(1)} µs`;
  };
  console.log(`  with CJK: ${part((q) => cjk.test(q))}; without: ${part((q) => !cjk.test(q))}`);
  const kinds = ["exact", "lower", "no last word", "reversed", "last begun", "typo", "synonym"];
  console.log(`  by kind: ${kinds.map((kind, k) => `${kind} ${part((q) => queries.indexOf(q) % 7 === k)}`).join("; ")}`);
  const order = times.map((_, i) => i).sort((a, b) => times[b]! - times[a]!);
  for (const i of order.slice(0, SLOWEST)) console.log(`    ${times[i]!.toFixed(0).padStart(7)} µs  ${String(counts[i]).padStart(7)} found  ${JSON.stringify(queries[i])}`);
}
