// /health (the process is alive) and /ready (the database answers and its schema is current).
import { Elysia, t } from "elysia";
import type { Sql } from "postgres";
import { isSchemaCurrent } from "../db/migrate.ts";

const tags = ["health"];
const Alive = t.Object({ status: t.Literal("ok") }, { examples: [{ status: "ok" }] });
const Ready = t.Object({ status: t.Literal("ready") }, { examples: [{ status: "ready" }] });
const NotReady = t.Object({ status: t.Literal("unavailable") }, { examples: [{ status: "unavailable" }] });

export function healthRoutes(sql: Sql) {
  return new Elysia({ name: "health" })
    .get("/health", () => ({ status: "ok" as const }), {
      response: { 200: Alive },
      detail: { summary: "Liveness: the process answers", tags },
    })
    .get(
      "/ready",
      async ({ set }) => {
        const ready = await isSchemaCurrent(sql).catch(() => false);
        set.status = ready ? 200 : 503;
        return ready ? { status: "ready" as const } : { status: "unavailable" as const };
      },
      {
        response: { 200: Ready, 503: NotReady },
        detail: { summary: "Readiness: the database is reachable and migrated", tags },
      },
    );
}
