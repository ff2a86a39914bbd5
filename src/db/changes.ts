// Cache invalidation across server instances. A change (tokens revoked, a user changed, a new
// catalogue imported) is applied to this process's caches at once and announced to every other
// instance with PostgreSQL NOTIFY. Caches may only be trusted while the LISTEN connection is up:
// while it is down they are bypassed, and when it comes back every cache is dropped, since any
// notification sent in between was missed.
import postgres, { type Options, type Sql } from "postgres";

export const CHANGES_CHANNEL = "lumotist_changes";

type Handler = (data: unknown) => void;

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
  /** Applies the change locally, then tells the other instances. Call after the change committed. */
  announce(topic: string, data: unknown): Promise<void>;
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
  dispatch(topic: string, data: unknown) {
    for (const handler of this.handlers.get(topic) ?? []) handler(data);
  }
  resync() {
    for (const handler of this.resyncHandlers) handler();
  }
}

/** For the embedded database: one server process owns it, so local dispatch is all there is. */
export function localChangeFeed(): ChangeFeed {
  const subscribers = new Subscribers();
  return {
    trusted: true,
    on: (topic, handler) => subscribers.on(topic, handler),
    onResync: (handler) => subscribers.onResync(handler),
    announce: async (topic, data) => subscribers.dispatch(topic, data),
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
    async announce(topic, data) {
      subscribers.dispatch(topic, data);
      const envelope: Envelope = { topic, data, origin };
      try {
        await sql`select pg_notify(${CHANGES_CHANNEL}, ${JSON.stringify(envelope)})`;
      } catch {
        // The change itself committed. If the notification cannot be sent the database is down,
        // so every other instance's LISTEN connection dropped too and they resync when it returns.
      }
    },
    start: () => reconnect(),
    async stop() {
      stopped = true;
      trusted = false;
      await listener.end({ timeout: 1 });
    },
  };
}
