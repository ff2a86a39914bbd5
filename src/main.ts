// Reads the configuration, connects to the database, migrates, serves, and shuts down cleanly.
//   bun src/main.ts          (what `bun run start` runs after installing dependencies)
import type { Server } from "bun";
import { buildApp, type AppServices } from "./app.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { type Database, openDatabase } from "./db/connect.ts";
import { isDatabaseUnreachable } from "./db/errors.ts";
import { collectNursery, collectWhenQuiet } from "./http/garbage.ts";
import { migrate } from "./db/migrate.ts";
import { loadSampleIfEmpty } from "./anime/import/importer.ts";
import { type Logger, createLogger, describeError } from "./log.ts";

export interface RunningServer {
  url: URL;
  server: Server<unknown>;
  db: Database;
  services: AppServices;
  /** Stops accepting, lets in-flight requests finish (up to SHUTDOWN_TIMEOUT), closes the database. */
  stop(): Promise<void>;
}

/** How often expired tokens and ended throttle windows are deleted. */
const SWEEP_MS = 60 * 60 * 1000;

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const db = await openDatabase(config, log);
  await untilDatabaseAnswers(() => migrate(db.sql), log);
  if (config.loadSample) {
    const report = await loadSampleIfEmpty(db.sql);
    if (report) log.info("loaded the sample catalogue", { inserted: report.inserted });
  }
  await db.changes.start();
  const { app, services } = await buildApp(config, db, log);
  // Bun's own limit would answer 413 with an empty body: leave it far above BODY_LIMIT, which the body
  // parser enforces while streaming (it stops reading at the limit) and answers with the contract's body.
  app.listen({ port: config.port, hostname: config.host, maxRequestBodySize: 1024 ** 3 });
  const server = app.server!;
  const sweep = setInterval(() => void sweepEnded(services, log), SWEEP_MS);
  sweep.unref();
  const stopNurseryCollections = collectNursery();
  const stopQuietCollections = collectWhenQuiet(log);
  log.info("listening", { url: server.url.href, database: db.mode, anime: services.catalogue.size });

  return {
    url: server.url,
    server,
    db,
    services,
    async stop() {
      clearInterval(sweep);
      stopNurseryCollections();
      stopQuietCollections();
      services.catalogue.stop();
      services.auth.stop();
      const drained = server.stop(false);
      const timeout = Bun.sleep(config.shutdownTimeoutMs).then(() => "timeout" as const);
      if ((await Promise.race([drained, timeout])) === "timeout") {
        log.warn("in-flight requests did not finish in time; closing them", { timeout_ms: config.shutdownTimeoutMs });
        await server.stop(true);
      }
      // The uses of tokens recorded since the last write (last_used of GET /account/sessions).
      await services.auth.flushUses();
      await db.changes.stop();
      await db.close();
    },
  };
}

async function sweepEnded(services: AppServices, log: Logger): Promise<void> {
  try {
    await services.auth.deleteExpiredTokens();
    await services.throttles.deleteEnded();
  } catch (error) {
    log.warn("sweeping expired tokens and throttle windows failed; next try in an hour", describeError(error));
  }
}

/** Starting while the database is down waits for it, with backoff, instead of exiting. */
async function untilDatabaseAnswers<T>(action: () => Promise<T>, log: Logger): Promise<T> {
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await action();
    } catch (error) {
      if (!isDatabaseUnreachable(error)) throw error;
      log.warn("database unreachable; retrying", { retry_in_ms: delay, code: (error as { code?: string }).code });
      await Bun.sleep(delay);
    }
  }
}

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const log = createLogger(config.logLevel);
  let running: RunningServer;
  try {
    running = await startServer(config, log);
  } catch (error) {
    log.error("could not start", describeError(error));
    process.exit(1);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    try {
      await running.stop();
      process.exit(0);
    } catch (error) {
      log.error("shutdown failed", describeError(error));
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

if (import.meta.main) await main();
