// Bodies assembled per request (search pages, bulk answers: ~10 KB each) live in native memory that
// the garbage collector's pacing does not see: at 20,000 such answers a second, RSS grew by 100 MB
// between the 200 ms nursery collections (src/main.ts). Routes that build large bodies report their
// size here, and a nursery collection runs every GC_EVERY_BYTES of them (about 1 ms each).
import { edenGC } from "bun:jsc";

const GC_EVERY_BYTES = 16 * 1024 * 1024;
let produced = 0;

export function noteResponseBytes(bytes: number): void {
  produced += bytes;
  if (produced < GC_EVERY_BYTES) return;
  produced = 0;
  edenGC();
}
