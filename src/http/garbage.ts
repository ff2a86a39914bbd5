// Bodies assembled per request (search pages, bulk answers: ~10 KB each) live in native memory that
// the garbage collector's pacing does not see: at 20,000 such answers a second, RSS grew by 100 MB
// between the timed nursery collections (collectNursery). Routes that build large bodies report their
// size here, and a nursery collection runs every GC_EVERY_BYTES of them (about 1 ms each).
import { edenGC } from "bun:jsc";
import type { Logger } from "../log.ts";

const GC_EVERY_BYTES = 16 * 1024 * 1024;
let produced = 0;

export function noteResponseBytes(bytes: number): void {
  produced += bytes;
  if (produced < GC_EVERY_BYTES) return;
  produced = 0;
  edenGC();
}

/**
 * Young-generation collections on a timer. Under load nearly all garbage is per-request Request and
 * Response objects, whose native memory (headers, bodies) the collector's own pacing does not see:
 * left alone, RSS swings between ~100 and 170+ MiB between collections. And the collector sizes its
 * nursery by the heap, whose typed arrays (the packed catalogue, the indexes: ~230 MiB at 400,000
 * entries) let it grow to ~200 MiB: every allocation then lands on memory long out of the CPU's
 * caches. So while the main thread is nearly saturated (at least NURSERY_BUSY_SHARE of the last tick),
 * a nursery collection runs every NURSERY_TICK_MS (~2,000 requests at 50,000 a second; well under
 * 1 ms each), which keeps the nursery within a few MB; otherwise every NURSERY_IDLE_MS (~0.4 ms each
 * when idle, 0.2% of a core). Not at lower shares: a thread that waits on the database holds its
 * requests in flight across collections, and collecting often promotes them (at a 25% share the
 * details-cold row, 70% of answers read from PostgreSQL, peaked ~10 MiB higher).
 * Measured at 400,000 entries, filtered random over HTTP (alternated calm rounds): 18.5–23.7 µs of
 * CPU a request with the busy tick against 20.9–24.6 µs with 200 ms alone; in one process 4.7
 * against 5.7 µs (a collection every ~2,000 against every ~10,000 requests).
 */
const NURSERY_TICK_MS = 40;
const NURSERY_IDLE_MS = 200;
const NURSERY_BUSY_SHARE = 0.75;

/** Whether a tick collects: the main thread used `threadCpuMs` over the last tick; the last collection was `sinceCollectionMs` ago. */
export function nurseryCollectionDue(threadCpuMs: number, sinceCollectionMs: number): boolean {
  return threadCpuMs >= NURSERY_TICK_MS * NURSERY_BUSY_SHARE || sinceCollectionMs >= NURSERY_IDLE_MS;
}

export function collectNursery(): () => void {
  const sinceLastTick = mainThreadMeter();
  let sinceCollection = 0;
  const timer = setInterval(() => {
    sinceCollection += NURSERY_TICK_MS; // counted in ticks: a timer may fire a little early
    if (!nurseryCollectionDue(sinceLastTick().cpuMs, sinceCollection)) return;
    sinceCollection = 0;
    edenGC();
  }, NURSERY_TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * What a nursery collection leaves: objects promoted while the server was busy (and the native memory
 * they hold: request and response buffers, rows read to load an index) stay until a full collection,
 * which the collector paces by its own heap size, not by that memory. So once after each busy spell
 * (the main thread at least BUSY_SHARE of a quarter second), when the main thread has gone quiet
 * (under QUIET_SHARE) and RSS has grown GROWTH_BYTES past where the last collection left it, one full
 * collection runs: it stops the thread for tens of milliseconds, which a quiet thread can spare.
 * Growth alone does not trigger it: argon2id's buffers (other threads) come and go with logins and
 * are not garbage.
 */
const QUIET_CHECK_MS = 250;
const QUIET_SHARE = 0.2;
const BUSY_SHARE = 0.5;
const GROWTH_BYTES = 16 * 1024 * 1024;

export function collectWhenQuiet(log: Logger): () => void {
  let baseline = process.memoryUsage.rss();
  let collectedLastTick = false;
  let busySinceCollection = false;
  const sinceLastTick = mainThreadMeter();
  const timer = setInterval(() => {
    const { cpuMs, elapsedMs } = sinceLastTick();
    const busyShare = cpuMs / elapsedMs;
    const rss = process.memoryUsage.rss();
    if (collectedLastTick) {
      baseline = rss; // what the collection left (the allocator returns pages after it, not during)
      collectedLastTick = false;
      return;
    }
    baseline = Math.min(baseline, rss);
    if (busyShare >= BUSY_SHARE) busySinceCollection = true;
    if (!busySinceCollection || busyShare >= QUIET_SHARE || rss - baseline < GROWTH_BYTES) return;
    const started = performance.now();
    Bun.gc(true);
    collectedLastTick = true;
    busySinceCollection = false;
    log.debug("full collection while quiet", { rss_mib: Math.round(rss / 2 ** 20), took_ms: Math.round(performance.now() - started) });
  }, QUIET_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Each call: the main thread's CPU time and the wall time since the previous call (or the meter's start), in ms. */
function mainThreadMeter(): () => { cpuMs: number; elapsedMs: number } {
  let cpu = mainThreadCpuMs();
  let at = performance.now();
  return () => {
    const [cpuNow, now] = [mainThreadCpuMs(), performance.now()];
    const since = { cpuMs: cpuNow - cpu, elapsedMs: now - at };
    [cpu, at] = [cpuNow, now];
    return since;
  };
}

function mainThreadCpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}
