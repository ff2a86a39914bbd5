// One JSON log line per request (method, path, status, duration), at level info. Never headers,
// queries or bodies: they can hold tokens and passwords. Below info the hooks are not registered
// at all, so a server run at LOG_LEVEL=warn pays nothing per request for logging.
import { Elysia } from "elysia";
import type { LogLevel } from "../config.ts";
import type { Logger } from "../log.ts";

const startTimes = new WeakMap<Request, number>();

export function requestLog(log: Logger, level: LogLevel) {
  const plugin = new Elysia({ name: "request-log" });
  if (level !== "debug" && level !== "info") return plugin;
  return plugin
    .onRequest(({ request }) => {
      startTimes.set(request, performance.now());
    })
    .onAfterResponse({ as: "global" }, ({ request, path, set }) => {
      const started = startTimes.get(request);
      log.info("request", {
        method: request.method,
        path,
        status: typeof set.status === "number" ? set.status : 200,
        duration_ms: started === undefined ? undefined : Math.round((performance.now() - started) * 100) / 100,
      });
    });
}
