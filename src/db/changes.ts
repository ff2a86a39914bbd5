// Cache invalidation across server instances. A change (tokens revoked, a user changed, a new
// catalogue imported) is announced to every other instance with PostgreSQL NOTIFY, sent inside the
// transaction that makes the change, and applied to this process's caches once it committed.
// Caches may only be trusted while the LISTEN connection is up: while it is down they are bypassed,
// and when it comes back every cache is dropped, since any notification sent in between was missed.
//
// THE RULE: a notification may only make a cache forget or re-read; it never adds trust that was not
// read from the database. NOTIFY needs no privilege at all: any role that can connect can send any
// payload on this channel, so a handler must be safe whatever the payload says (forgetting a token
// or re-reading the catalogue is; adding a token to the index because a payload named it is not).
// Payloads are checked against the shape their topic expects; a malformed one is logged and dropped.
import postgres, { type Options, type Sql, type TransactionSql } from "postgres";
import { type Logger, describeError } from "../log.ts";

export const CHANGES_CHANNEL = "lumotist_changes";

/** Tells whether a payload has the shape a topic's handler expects. */
export type PayloadCheck<T> = (data: unknown) => data is T;
type Handler = (data: unknown) => void;

export const isPositiveInteger: PayloadCheck<number> = (data): data is number =>
  Number.isSafeInteger(data) && (data as number) > 0;

/** Digests, or their leading bytes, in lower-case hex (the token index keys on the first 16 bytes). */
export const isHexDigestList: PayloadCheck<string[]> = (data): data is string[] =>
  Array.isArray(data) && data.every((item) => typeof item === "string" && /^[0-9a-f]{32,64}$/.test(item));

export const isAnything: PayloadCheck<unknown> = (_data): _data is unknown => true;

/** Announces a change from inside the transaction that makes it. */
export type Announce = (topic: string, data: unknown) => Promise<void>;

interface Envelope {
  topic: string;
  data: unknown;
  origin: string;
}

export interface ChangeFeed {
  /** Whether cached state can be trusted to have seen every change made by other instances. */
  readonly trusted: boolean;
  /** `handler` runs for the topic's announcements whose payload passes `check` (see THE RULE above). */
  on<T>(topic: string, check: PayloadCheck<T>, handler: (data: T) => void): void;
  /** Called whenever notifications may have been missed: every cache must be dropped. */
  onResync(handler: () => void): void;
  /**
   * Runs `work` in one transaction with what it announces. The announcements go out as NOTIFY inside
   * that transaction, which PostgreSQL delivers on commit: the other instances hear of a change if
   * and only if it committed (sending it after the commit could fail, or never happen if the process
   * died in between, and a change would be acknowledged that other instances never hear of). Once
   * the transaction committed, the announcements are applied to this process's caches.
   */
  transaction<T>(work: (tx: TransactionSql, announce: Announce) => Promise<T>): Promise<T>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

class Subscribers {
  private readonly handlers = new Map<string, Handler[]>();
  private readonly resyncHandlers: (() => void)[] = [];

  constructor(private readonly log: Logger) {}

  on<T>(topic: string, check: PayloadCheck<T>, handler: (data: T) => void) {
    const checked: Handler = (data) => {
      if (check(data)) handler(data);
      else this.log.warn("change notification with a malformed payload dropped", { topic });
    };
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), checked]);
  }
  onResync(handler: () => void) {
    this.resyncHandlers.push(handler);
  }
  /** `work` in a transaction on `sql`; its announcements are also sent with `send`, and dispatched here after the commit. */
  async transaction<T>(
    sql: Sql,
    send: (tx: TransactionSql, topic: string, data: unknown) => Promise<void>,
    work: (tx: TransactionSql, announce: Announce) => Promise<T>,
  ): Promise<T> {
    const announced: [topic: string, data: unknown][] = [];
    const result = (await sql.begin((tx) =>
      work(tx, async (topic, data) => {
        await send(tx, topic, data);
        announced.push([topic, data]);
      }),
    )) as T;
    for (const [topic, data] of announced) this.dispatch(topic, data);
    return result;
  }
  /** Never throws: it runs inside the driver's notification callback. */
  dispatch(topic: string, data: unknown) {
    for (const handler of this.handlers.get(topic) ?? []) this.guarded(handler, data, topic);
  }
  resync() {
    for (const handler of this.resyncHandlers) this.guarded(handler, undefined, "resync");
  }
  private guarded(handler: Handler, data: unknown, topic: string) {
    try {
      handler(data);
    } catch (error) {
      this.log.error("change handler failed", { topic, ...describeError(error) });
    }
  }
}

/**
 * Sends an announcement from inside `tx` (PostgreSQL delivers it on commit). The feed uses it, and so
 * does the importer, which runs in its own process without a feed.
 */
export async function notifyWithin(tx: TransactionSql, topic: string, data: unknown, origin: string): Promise<void> {
  const envelope: Envelope = { topic, data, origin };
  await tx`select pg_notify(${CHANGES_CHANNEL}, ${JSON.stringify(envelope)})`;
}

function parseEnvelope(payload: string): Envelope | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    if (typeof value !== "object" || value === null) return undefined;
    const { topic, origin, data } = value as Record<string, unknown>;
    return typeof topic === "string" && typeof origin === "string" ? { topic, origin, data } : undefined;
  } catch {
    return undefined; // reported by the caller
  }
}

/** For the embedded database: one server process owns it, so local dispatch is all there is. */
export function localChangeFeed(sql: Sql, log: Logger): ChangeFeed {
  const subscribers = new Subscribers(log);
  return {
    trusted: true,
    on: (topic, check, handler) => subscribers.on(topic, check, handler),
    onResync: (handler) => subscribers.onResync(handler),
    transaction: (work) => subscribers.transaction(sql, async () => {}, work),
    start: async () => {},
    stop: async () => {},
  };
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/** LISTEN/NOTIFY on a dedicated connection, re-established with backoff when it drops. */
export function postgresChangeFeed(sql: Sql, url: string, options: Options<{}>, log: Logger): ChangeFeed {
  const subscribers = new Subscribers(log);
  const origin = crypto.randomUUID();
  let trusted = false;
  let stopped = false;
  let connecting: Promise<void> | undefined;

  const listener = postgres(url, {
    ...options,
    max: 1,
    idle_timeout: null,
    max_lifetime: null,
    fetch_types: false,
    // postgres.js hands NotificationResponse messages to this option.
    onnotify: (channel: string, payload: string) => {
      if (channel === CHANGES_CHANNEL) receive(payload);
    },
    onclose: () => {
      trusted = false;
      if (!stopped) reconnect();
    },
  } as unknown as Options<{}>);

  function receive(payload: string) {
    const envelope = parseEnvelope(payload);
    if (!envelope) log.warn("change notification that is not an envelope dropped", { bytes: payload.length });
    else if (envelope.origin !== origin) subscribers.dispatch(envelope.topic, envelope.data);
  }

  function reconnect(): Promise<void> {
    connecting ??= (async () => {
      for (let delay = RETRY_MIN_MS; !stopped; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
        try {
          await listener.unsafe(`listen ${CHANGES_CHANNEL}`);
          subscribers.resync(); // anything announced while we were not listening was missed
          trusted = true;
          return;
        } catch (error) {
          log.warn("LISTEN failed; caches are bypassed until it succeeds", { retry_in_ms: delay, ...describeError(error) });
          await Bun.sleep(delay);
        }
      }
    })().finally(() => (connecting = undefined));
    return connecting;
  }

  return {
    get trusted() {
      return trusted && !stopped;
    },
    on: (topic, check, handler) => subscribers.on(topic, check, handler),
    onResync: (handler) => subscribers.onResync(handler),
    transaction: (work) => subscribers.transaction(sql, (tx, topic, data) => notifyWithin(tx, topic, data, origin), work),
    start: () => reconnect(),
    async stop() {
      stopped = true;
      trusted = false;
      await listener.end({ timeout: 1 });
    },
  };
}
