// The client address that per-address limits count.

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
