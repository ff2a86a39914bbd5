// Configuration is read from the environment once, validated, and passed down as a plain object.
// Nothing else in the code base reads process.env.

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** A "N per window" limit such as `10/15m`. */
export interface RateLimit {
  max: number;
  windowMs: number;
}

export interface Config {
  port: number;
  host: string;
  /** Unset means: run the embedded PGlite database in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  dbPoolMax: number;
  dbConnectTimeoutSeconds: number;
  tokenTtlMs: number;
  tokenLimitPerUser: number;
  /** Live tokens the in-memory token index holds at most (about 40 bytes each, 10,000,000 at most); the rest are looked up in PostgreSQL. */
  tokenIndexMax: number;
  /** Profiles (the /account/profile body per user) kept in the in-memory LRU. */
  profileCacheSize: number;
  /** Memory budget of the serialized-entry LRU, in MiB. */
  animeCacheMB: number;
  /** Memory budget of the details answers (GET /anime/entry/{id}/details) kept until the next load, in MiB; 0 keeps none. */
  detailsCacheMB: number;
  /** Memory budget of the lists kept in memory (GET /list, /list/random, public lists) and their anime's bodies, in MiB; 0 keeps none. */
  listCacheMB: number;
  passwordMinLength: number;
  passwordHashMemoryKiB: number;
  passwordHashTimeCost: number;
  defaultPictureUrl: string;
  bodyLimitBytes: number;
  loadSample: boolean;
  logLevel: LogLevel;
  /** `["*"]` allows any origin, as the original API did. */
  corsOrigins: string[];
  trustProxy: boolean;
  throttle: {
    enabled: boolean;
    /** Failed logins (and wrong passwords in account settings) for one username from one client address. */
    loginFailuresPerUsername: RateLimit;
    /** The same from every address together: bounds guessing spread over many addresses. */
    loginFailuresPerUsernameAnywhere: RateLimit;
    loginFailuresPerAddress: RateLimit;
    registrationsPerAddress: RateLimit;
  };
  shutdownTimeoutMs: number;
  /** How often the embedded mode checks for catalogue imports made by another process. */
  cataloguePollMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type DurationUnit = keyof typeof DURATION_UNITS;

/** `3600` (seconds), `90s`, `15m`, `12h`, `30d`, `250ms`. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[(match[2] ?? "s") as DurationUnit];
}

/** `10/15m`: ten per fifteen minutes. */
export function parseRateLimit(text: string): RateLimit | undefined {
  const [count, window, ...rest] = text.split("/");
  const max = Number(count);
  const windowMs = window === undefined ? undefined : parseDurationMs(window);
  if (rest.length || !Number.isInteger(max) || max < 1 || !windowMs) return undefined;
  return { max, windowMs };
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}=${text}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.raw(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if (["1", "true", "on", "yes"].includes(text)) return true;
    if (["0", "false", "off", "no"].includes(text)) return false;
    this.problems.push(`${name}=${text}: expected on/off (true/false, 1/0, yes/no)`);
    return fallback;
  }

  duration(name: string, fallbackMs: number): number {
    const text = this.raw(name);
    if (text === undefined) return fallbackMs;
    const ms = parseDurationMs(text);
    if (ms === undefined || ms <= 0) {
      this.problems.push(`${name}=${text}: expected a duration such as 3600 (seconds), 15m, 12h or 30d`);
      return fallbackMs;
    }
    return ms;
  }

  rateLimit(name: string, fallback: string): RateLimit {
    const text = this.raw(name);
    const limit = text === undefined ? undefined : parseRateLimit(text);
    if (text !== undefined && !limit) this.problems.push(`${name}=${text}: expected COUNT/WINDOW such as 10/15m`);
    return limit ?? parseRateLimit(fallback)!;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const text = this.raw(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if ((allowed as readonly string[]).includes(text)) return text as T;
    this.problems.push(`${name}=${text}: expected one of ${allowed.join(", ")}`);
    return fallback;
  }

  url(name: string, fallback: string | undefined, protocols: string[]): string | undefined {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    try {
      const parsed = new URL(text);
      if (!protocols.includes(parsed.protocol)) throw new Error();
      return text;
    } catch {
      // Never echo a DATABASE_URL back: it may hold a password.
      this.problems.push(`${name}: expected a ${protocols.join(" or ")} URL`);
      return fallback;
    }
  }
}

export const DEFAULT_PICTURE_URL = "https://www.anime-planet.com/images/characters/default.jpg";

export function loadConfig(env: Env = process.env): Config {
  const read = new Reader(env);
  const databaseUrl = read.url("DATABASE_URL", undefined, ["postgres:", "postgresql:"]);
  const corsOrigins = read
    .string("CORS_ORIGINS", "*")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);

  const config: Config = {
    port: read.integer("PORT", 3000, 0, 65535),
    host: read.string("HOST", "0.0.0.0"),
    databaseUrl,
    dataDir: read.string("DATA_DIR", "./.data"),
    dbPoolMax: read.integer("DB_POOL_MAX", 10, 1, 500),
    dbConnectTimeoutSeconds: read.integer("DB_CONNECT_TIMEOUT", 2, 1, 60),
    tokenTtlMs: read.duration("TOKEN_TTL", 30 * DURATION_UNITS.d),
    tokenLimitPerUser: read.integer("TOKEN_LIMIT_PER_USER", 50, 1, 100_000),
    // ~40 bytes a token (24 a slot, at most 70% full before it grows): the maximum costs ~400 MB.
    tokenIndexMax: read.integer("TOKEN_INDEX_MAX", 2_000_000, 0, 10_000_000),
    profileCacheSize: read.integer("PROFILE_CACHE_SIZE", 100_000, 1, 10_000_000),
    animeCacheMB: read.integer("ANIME_CACHE_MB", 256, 1, 65_536),
    detailsCacheMB: read.integer("DETAILS_CACHE_MB", 8, 0, 65_536),
    listCacheMB: read.integer("LIST_CACHE_MB", 128, 0, 65_536),
    passwordMinLength: read.integer("PASSWORD_MIN_LENGTH", 8, 1, 1024),
    passwordHashMemoryKiB: read.integer("PASSWORD_HASH_MEMORY_KIB", 19_456, 1024, 1_048_576),
    passwordHashTimeCost: read.integer("PASSWORD_HASH_TIME_COST", 2, 1, 20),
    defaultPictureUrl: read.url("DEFAULT_PICTURE_URL", DEFAULT_PICTURE_URL, ["http:", "https:"])!,
    bodyLimitBytes: read.integer("BODY_LIMIT", 64 * 1024, 1024, 64 * 1024 * 1024),
    loadSample: read.boolean("LOAD_SAMPLE", databaseUrl === undefined),
    logLevel: read.oneOf<LogLevel>("LOG_LEVEL", "info", ["debug", "info", "warn", "error", "silent"]),
    corsOrigins: corsOrigins.length ? corsOrigins : ["*"],
    trustProxy: read.boolean("TRUST_PROXY", false),
    throttle: {
      enabled: read.boolean("THROTTLE", true),
      loginFailuresPerUsername: read.rateLimit("THROTTLE_LOGIN_USERNAME", "10/15m"),
      loginFailuresPerUsernameAnywhere: read.rateLimit("THROTTLE_LOGIN_USERNAME_ALL", "100/15m"),
      loginFailuresPerAddress: read.rateLimit("THROTTLE_LOGIN_ADDRESS", "50/15m"),
      registrationsPerAddress: read.rateLimit("THROTTLE_REGISTER_ADDRESS", "20/1h"),
    },
    shutdownTimeoutMs: read.duration("SHUTDOWN_TIMEOUT", 10_000),
    cataloguePollMs: read.duration("CATALOGUE_POLL", 1_000),
  };

  if (read.problems.length) throw new ConfigError(read.problems);
  return Object.freeze(config);
}
