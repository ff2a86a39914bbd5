// Cache invalidation across server instances. A change (tokens revoked, a user changed, a new
// catalogue imported) is announced to every other instance with PostgreSQL NOTIFY, sent inside the
// transaction that makes the change, and applied to this process's caches once it committed.
// Caches may only be trusted while the LISTEN connection is up: while it is down they are bypassed,
// and when it comes back every cache is dropped, since any notification sent in between was missed.
import postgres, { type Options, type Sql, type TransactionSql } from "postgres";

export const CHANGES_CHANNEL = "lumotist_changes";

type Handler = (data: unknown) => void;

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
  on(topic: string, handler: Handler): void;
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

  on(topic: string, handler: Handler) {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
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
  dispatch(topic: string, data: unknown) {
    for (const handler of this.handlers.get(topic) ?? []) handler(data);
  }
  resync() {
    for (const handler of this.resyncHandlers) handler();
  }
}

/** For the embedded database: one server process owns it, so local dispatch is all there is. */
export function localChangeFeed(sql: Sql): ChangeFeed {
  const subscribers = new Subscribers();
  return {
    trusted: true,
    on: (topic, handler) => subscribers.on(topic, handler),
    onResync: (handler) => subscribers.onResync(handler),
    transaction: (work) => subscribers.transaction(sql, async () => {}, work),
    start: async () => {},
    stop: async () => {},
  };
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/** LISTEN/NOTIFY on a dedicated connection, re-established with backoff when it drops. */
export function postgresChangeFeed(sql: Sql, url: string, options: Options<{}>): ChangeFeed {
  const subscribers = new Subscribers();
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
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload);
    } catch {
      return;
    }
    if (envelope.origin !== origin) subscribers.dispatch(envelope.topic, envelope.data);
  }

  function reconnect(): Promise<void> {
    connecting ??= (async () => {
      for (let delay = RETRY_MIN_MS; !stopped; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
        try {
          await listener.unsafe(`listen ${CHANGES_CHANNEL}`);
          subscribers.resync(); // anything announced while we were not listening was missed
          trusted = true;
          return;
        } catch {
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
    on: (topic, handler) => subscribers.on(topic, handler),
    onResync: (handler) => subscribers.onResync(handler),
    transaction: (work) =>
      subscribers.transaction(
        sql,
        async (tx, topic, data) => {
          const envelope: Envelope = { topic, data, origin };
          await tx`select pg_notify(${CHANGES_CHANNEL}, ${JSON.stringify(envelope)})`;
        },
        work,
      ),
    start: () => reconnect(),
    async stop() {
      stopped = true;
      trusted = false;
      await listener.end({ timeout: 1 });
    },
  };
}
