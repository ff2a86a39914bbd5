// In-process microbenchmark of the list's reads (bench/list.ts builds the data; point
// BENCH_LIST_DB_URL at a copy of it): µs of wall time and of this process's CPU per call of the
// service, one call at a time, so that PostgreSQL's share shows as wall minus CPU.
//   BENCH_LIST_DB_URL=postgres://…/db bun bench/list-micro.ts [calls]
import postgres from "postgres";
import { ListCache } from "../src/list/list-cache.ts";
import { createLogger } from "../src/log.ts";
import { Lists } from "../src/list/service.ts";

const url = process.env.BENCH_LIST_DB_URL;
if (!url) throw new Error("set BENCH_LIST_DB_URL to a database bench/list.ts built");
const calls = Number(process.argv[2] ?? 300);
const sql = postgres(url, { max: 4, onnotice: () => {} });
// BENCH_LIST_CACHE_MB=0 measures the reads without the list cache (src/list/list-cache.ts).
const cacheMB = Number(process.env.BENCH_LIST_CACHE_MB ?? 64);
const lists = new Lists(sql, cacheMB > 0 ? new ListCache(sql, cacheMB * 1024 * 1024, createLogger("warn")) : undefined);
const [largest] = await sql<[{ id: number }]>`select id from users where username = 'bench_list_1'`;
await sql`update users set list_public = true where id = ${largest.id}`; // a copy: the public view needs it
const small = await sql<{ id: number }[]>`select id from users where username like 'bench\\_list\\_%' and list_size between 1 and 2000 order by id limit 200`;

const cases: [string, (i: number) => Promise<unknown>][] = [
  ["page -updated (largest)", () => lists.page(largest.id, { page_size: "100" }, "http://x/list?page_size=100")],
  ["page -updated (random users)", (i) => lists.page(small[i % small.length]!.id, { page_size: "100" }, "http://x/list?page_size=100")],
  ["page title (largest)", () => lists.page(largest.id, { sort: "title", page_size: "100" }, "http://x/list?sort=title&page_size=100")],
  ["page -title (largest)", () => lists.page(largest.id, { sort: "-title", page_size: "100" }, "http://x/list?sort=-title&page_size=100")],
  ["page -score (largest)", () => lists.page(largest.id, { sort: "-score", page_size: "100" }, "http://x/list?sort=-score&page_size=100")],
  ["page score (largest, page 50)", () => lists.page(largest.id, { sort: "score", page_size: "100", page: "50" }, "http://x/list?sort=score&page_size=100&page=50")],
  ["page title (largest, page 100)", () => lists.page(largest.id, { sort: "title", page_size: "100", page: "100" }, "http://x/list?sort=title&page_size=100&page=100")],
  ["page status=watching (largest)", () => lists.page(largest.id, { status: "watching", page_size: "100" }, "http://x/list?status=watching&page_size=100")],
  ["public page (largest)", () => lists.publicPage("bench_list_1", { page_size: "100" }, "http://x/users/bench_list_1/list?page_size=100")],
  ["random (largest)", () => lists.random(largest.id, {})],
  ["random status=plan_to_watch&type=TV (largest)", () => lists.random(largest.id, { status: "plan_to_watch", type: "TV" })],
  ["random (random users)", (i) => lists.random(small[i % small.length]!.id, {}).catch(() => undefined)],
];
const only = process.env.BENCH_CASES?.split(",");
for (const [name, call] of cases) {
  if (only && !only.some((o) => name.includes(o))) continue;
  for (let i = 0; i < 20; i++) await call(i);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await call(i);
    times.push(performance.now() - t);
  }
  const wall = ((performance.now() - started) * 1000) / calls;
  const used = process.cpuUsage(cpu);
  times.sort((a, b) => a - b);
  const p = (q: number) => (times[Math.floor((times.length - 1) * q)]! * 1000).toFixed(0);
  console.log(`${name.padEnd(48)} wall ${wall.toFixed(0).padStart(6)} µs (p50 ${p(0.5).padStart(6)}, p99 ${p(0.99).padStart(6)})  cpu ${((used.user + used.system) / calls).toFixed(0).padStart(6)} µs`);
}
await sql.end();
