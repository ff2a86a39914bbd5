// The raw argon2id verification rate on this machine, to compare POST /account/login with:
// `concurrency` verifications in flight at once (as wrk keeps that many logins in flight), for
// `seconds`, with the server's hash parameters (src/config.ts: PASSWORD_HASH_MEMORY_KIB,
// PASSWORD_HASH_TIME_COST, read from the same environment the server gets).
//   bun bench/verify-rate.ts CONCURRENCY SECONDS   -> one JSON line on stdout
import { loadConfig } from "../src/config.ts";

const [concurrency = 64, seconds = 10] = Bun.argv.slice(2).map(Number);
const config = loadConfig({
  PASSWORD_HASH_MEMORY_KIB: process.env.PASSWORD_HASH_MEMORY_KIB,
  PASSWORD_HASH_TIME_COST: process.env.PASSWORD_HASH_TIME_COST,
});
const options = { algorithm: "argon2id" as const, memoryCost: config.passwordHashMemoryKiB, timeCost: config.passwordHashTimeCost };
const password = "bench password 1";
const hash = await Bun.password.hash(password, options);

// One short round first, so the measured window starts with the thread pool up.
await Promise.all(Array.from({ length: concurrency }, () => Bun.password.verify(password, hash, "argon2id")));

let verified = 0;
const started = performance.now();
const deadline = started + seconds * 1000;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      if (!(await Bun.password.verify(password, hash, "argon2id"))) throw new Error("verify returned false");
      verified++;
    }
  }),
);
const elapsedSeconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    concurrency,
    seconds: elapsedSeconds,
    verified,
    per_second: verified / elapsedSeconds,
    memory_kib: options.memoryCost,
    time_cost: options.timeCost,
  }),
);
