// Composes the feature plugins into one Elysia app. Building it does not listen: main.ts (or a
// test) decides where it serves.
import { Elysia, ValidationError } from "elysia";
import { Accounts } from "./account/service.ts";
import { accountRoutes, misspeltSetPictureRoute, rejectedAccountBody } from "./account/routes.ts";
import { Catalogue } from "./anime/catalogue.ts";
import { animeRoutes } from "./anime/routes.ts";
import { Passwords } from "./auth/passwords.ts";
import { Auth } from "./auth/service.ts";
import { Throttles } from "./auth/throttle.ts";
import type { Config } from "./config.ts";
import type { Database } from "./db/connect.ts";
import { isDatabaseUnreachable } from "./db/errors.ts";
import { openApi } from "./docs/openapi.ts";
import { exportRoutes } from "./export/routes.ts";
import { Exports } from "./export/service.ts";
import { healthRoutes } from "./health/routes.ts";
import { parseJsonObject } from "./http/body.ts";
import { type FieldErrors, HttpError, internalError, methodNotAllowed, notFound, serviceUnavailable } from "./http/errors.ts";
import { headerPolicy } from "./http/headers.ts";
import { requestLog } from "./http/request-log.ts";
import { fieldErrorsFrom } from "./http/validation.ts";
import { RAW_BODY_PATHS, listRoutes, rejectedListBody } from "./list/routes.ts";
import { ListCache } from "./list/list-cache.ts";
import { Lists } from "./list/service.ts";
import { type Logger, describeError } from "./log.ts";

export interface AppServices {
  auth: Auth;
  throttles: Throttles;
  accounts: Accounts;
  exports: Exports;
  catalogue: Catalogue;
  lists: Lists;
}

export interface BuiltApp {
  app: ReturnType<typeof composeApp>;
  services: AppServices;
}

/** Builds every service and the app; loads the catalogue's id index before returning. */
export async function buildApp(config: Config, db: Database, log: Logger): Promise<BuiltApp> {
  const services = createServices(config, db, log);
  services.auth.start();
  await services.accounts.fillLookalikeKeys();
  await services.catalogue.load();
  return { app: composeApp(config, db, services, log), services };
}

function createServices(config: Config, db: Database, log: Logger): AppServices {
  const auth = new Auth(db.sql, db.changes, config, log);
  const throttles = new Throttles(db.sql, config.throttle.enabled);
  const accounts = new Accounts(db.sql, auth, new Passwords(config), db.changes, throttles, config, log);
  // The embedded database has no LISTEN for other processes: poll for the importer's imports.
  const exports = new Exports(db.sql, auth, config);
  const catalogue = new Catalogue(db.sql, db.changes, config, log, db.mode === "embedded");
  const listCache = config.listCacheMB > 0 ? new ListCache(db.sql, config.listCacheMB * 1024 * 1024, log) : undefined;
  return { auth, throttles, accounts, exports, catalogue, lists: new Lists(db.sql, listCache) };
}


function composeApp(config: Config, db: Database, services: AppServices, log: Logger) {
  const headers = headerPolicy(config.corsOrigins);
  const app = new Elysia({ name: "lumotist" })
    .use(requestLog(log, config.logLevel))
    .use(headers.plugin)
    // A route that reads its own body (the list import, 16 MiB) gets it unread; every other body is
    // JSON within BODY_LIMIT.
    .onParse(({ request, path }) => (RAW_BODY_PATHS.has(withoutTrailingSlash(path)) ? UNREAD_BODY : parseJsonObject(request, config.bodyLimitBytes)))
    .onError(({ code, error, request, path, set }) => {
      const mapped = toHttpError(code, error, request.method, path, { routes: knownRoutes, describeRejectedBody });
      if (mapped.status >= 500 && mapped.status !== 503) log.error("unhandled error", { method: request.method, path, ...describeError(error) });
      set.status = mapped.status;
      Object.assign(set.headers, headers.baseHeaders(path), mapped.headers);
      return mapped.body;
    })
    .use(openApi())
    .use(
      healthRoutes(db.sql, () => ({
        token_index: services.auth.indexState(),
        anime_cache: services.catalogue.cacheState(),
        list_cache: services.lists.cacheState(),
      })),
    )
    .use(accountRoutes(services.accounts, services.auth, headers.json, config.trustProxy))
    .use(misspeltSetPictureRoute(services.accounts, services.auth))
    .use(exportRoutes(services.exports, services.auth))
    .use(animeRoutes(services.catalogue, headers))
    .use(listRoutes(services.lists, services.auth, headers.json));

  const rejectedAccount = rejectedAccountBody(services.accounts);
  const describeRejectedBody: ErrorContext["describeRejectedBody"] = (path, body, fields) =>
    rejectedAccount(path, body, fields) ?? rejectedListBody(withoutTrailingSlash(path), body, fields);
  const knownRoutes = routeMatcher(app.routes.map((route) => ({ method: route.method, path: route.path })));
  return app;
}

/** What the parser hands on for a route that reads its body itself. */
const UNREAD_BODY = Object.freeze({});

const withoutTrailingSlash = (path: string) => (path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path);

interface ErrorContext {
  routes: RouteMatcher;
  /** A route's own 400 body for a request body its schema rejected; undefined for the bare field form. */
  describeRejectedBody(path: string, body: unknown, fields: FieldErrors): unknown | undefined;
}

function toHttpError(code: unknown, error: unknown, method: string, path: string, { routes, describeRejectedBody }: ErrorContext): HttpError {
  if (error instanceof HttpError) return error;
  // A body parser's own error arrives wrapped by Elysia.
  if ((error as { cause?: unknown })?.cause instanceof HttpError) return (error as { cause: HttpError }).cause;
  if (error instanceof ValidationError) {
    const fields = fieldErrorsFrom(error.all as never);
    return new HttpError(400, describeRejectedBody(path, error.value, fields) ?? fields);
  }
  if (code === "NOT_FOUND") {
    const allowed = routes.methodsFor(path);
    return allowed.length ? methodNotAllowed(method, allowed) : notFound();
  }
  if (code === "PARSE") return new HttpError(400, { detail: "JSON parse error - could not read the body." });
  if (isDatabaseUnreachable(error) || isDatabaseUnreachable((error as { cause?: unknown })?.cause)) return serviceUnavailable();
  return internalError();
}

interface RouteMatcher {
  methodsFor(path: string): string[];
}

/** Which methods a path has, to tell 405 from 404. */
function routeMatcher(routes: { method: string; path: string }[]): RouteMatcher {
  const patterns = routes.map(({ method, path }) => ({
    method,
    regex: new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+")}/?$`),
  }));
  return {
    methodsFor(path) {
      return [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))];
    },
  };
}
