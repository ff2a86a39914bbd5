// /health (the process is alive) and /ready (the database answers and its schema is current).
import { Elysia, t } from "elysia";
import type { Sql } from "postgres";
import { isSchemaCurrent } from "../db/migrate.ts";

const tags = ["health"];
const Status = t.Object({ status: t.String() }, { examples: [{ status: "ok" }] });

export function healthRoutes(sql: Sql) {
  return new Elysia({ name: "health" })
    .get("/health", () => ({ status: "ok" }), {
      response: { 200: Status },
      detail: { summary: "Liveness: the process answers", tags },
    })
    .get(
      "/ready",
      async ({ set }) => {
        const ready = await isSchemaCurrent(sql).catch(() => false);
        set.status = ready ? 200 : 503;
        return { status: ready ? "ready" : "unavailable" };
      },
      {
        response: { 200: Status, 503: Status },
        detail: { summary: "Readiness: the database is reachable and migrated", tags },
      },
    );
}
