// In-process microbenchmark of the finding rows (random-1f, random-3f, browse, bulk): the real app's
// handler (routing, query parsing, catalogue, body) called directly, without sockets, on a database
// that already holds a generated catalogue. Prints µs of CPU and wall per request (the least of 5 rounds), with the same
// request mixes as bench/run.ts's rows.
//   DATABASE_URL=postgres://…/db_with_catalogue bun bench/find-micro.ts [rows] [iterations]
import { buildApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { openDatabase } from "../src/db/connect.ts";
import { migrate } from "../src/db/migrate.ts";
import { createLogger } from "../src/log.ts";
import { idRange } from "./lib.ts";
import { findingRowsIn } from "./find-mixes.ts";

const wanted = (process.argv[2] ?? "random-1f,random-3f,browse,bulk").split(",");
const iterations = Number(process.argv[3] ?? 20000);
const log = createLogger("warn");
const config = loadConfig({ ...process.env, LOG_LEVEL: "warn" });
const db = await openDatabase(config, log);
await migrate(db.sql);
await db.changes.start();
const { app, services } = await buildApp(config, db, log);
const base = "http://localhost";
// Wait for the filter index, the packed bodies and the search index.
for (;;) {
  const state = services.catalogue.cacheState();
  if (state.packed && state.search_ready) break;
  await Bun.sleep(200);
}
const { count } = await idRange(db.sql);
// "random-0f": the unfiltered draw, for comparison.
const unfiltered = { scenario: "random-0f", path: "GET /anime/random", paths: ["/anime/random"] };
const rows = [unfiltered, ...(await findingRowsIn(db.sql, count))].filter((row) => wanted.includes(row.scenario));
for (const row of rows) {
  const paths: string[] = [];
  for (const path of row.paths) {
    const response = await app.handle(new Request(base + path));
    await response.arrayBuffer();
    if (response.status === 200) paths.push(path);
  }
  const run = async (n: number) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const response = await app.handle(new Request(base + paths[i % paths.length]!));
      await response.arrayBuffer();
    }
    const used = process.cpuUsage(cpu);
    return { wall: ((performance.now() - started) * 1000) / n, cpu: (used.user + used.system) / n };
  };
  await run(Math.min(iterations, 5000));
  Bun.gc(true);
  // The least of several rounds: other processes on the machine only ever add to a round's time.
  const rounds = await Array.fromAsync({ length: 5 }, () => run(Math.ceil(iterations / 5)));
  const result = { cpu: Math.min(...rounds.map((r) => r.cpu)), wall: Math.min(...rounds.map((r) => r.wall)) };
  const rss = process.memoryUsage().rss / 1024 / 1024;
  console.log(`${row.scenario.padEnd(10)} n=${count} paths=${paths.length} ${result.cpu.toFixed(1)} µs cpu/req ${result.wall.toFixed(1)} µs wall/req rss ${rss.toFixed(0)} MiB`);
}
// What the filter paths keep beside the index (private fields, read for this report only).
const kept = services.catalogue as unknown as { matchSets: { calculatedSize: number; size: number }; index: { orders: Map<string, Int32Array> } };
const orders = [...kept.index.orders.values()].reduce((sum, order) => sum + order.byteLength, 0);
console.log(`index_bytes ${services.catalogue.cacheState().index_bytes}; match sets ${kept.matchSets.size} (${(kept.matchSets.calculatedSize / 1024).toFixed(0)} KiB); sort orders ${kept.index.orders.size} (${(orders / 1024).toFixed(0)} KiB)`);
services.catalogue.stop();
await db.close?.();
process.exit(0);
