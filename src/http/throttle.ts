// Per-instance throttling: a fixed-window counter per key (a username, a client address) kept in a
// bounded LRU, so a flood of distinct keys cannot grow memory without limit.
import { LRUCache } from "lru-cache";
import type { RateLimit } from "../config.ts";
import { throttled } from "./errors.ts";

interface Window {
  count: number;
  resetAt: number;
}

export class Throttle {
  private readonly windows: LRUCache<string, Window>;

  constructor(
    private readonly limit: RateLimit,
    private readonly enabled = true,
    maxKeys = 100_000,
  ) {
    this.windows = new LRUCache({ max: maxKeys, ttl: limit.windowMs, ttlAutopurge: false });
  }

  /** Throws the contract's 429 when the key has used up its window. */
  assertAllowed(key: string): void {
    if (!this.enabled) return;
    const window = this.windows.get(key);
    if (window && window.count >= this.limit.max) {
      throw throttled(Math.max(1, Math.ceil((window.resetAt - Date.now()) / 1000)));
    }
  }

  record(key: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    const window = this.windows.get(key);
    if (window && window.resetAt > now) window.count++;
    else this.windows.set(key, { count: 1, resetAt: now + this.limit.windowMs });
  }
}

/**
 * The client's address: the socket peer, or with TRUST_PROXY the last X-Forwarded-For hop, the one
 * our proxy appended. The hops before it are whatever the client sent: trusting the first one let a
 * client pick a new "address" for every request and so escape the per-address limits.
 */
export function clientAddress(
  request: Request,
  server: { requestIP(request: Request): { address: string } | null } | null,
  trustProxy: boolean,
): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  return server?.requestIP(request)?.address ?? "unknown";
}
