// Strong ETags and If-None-Match (RFC 9110 §13.1.2: weak comparison, a list of tags, or `*`).

/** A strong tag for a body, from a 64-bit hash of its bytes. */
export function etagOf(body: string | Uint8Array): string {
  return `"h${Bun.hash(body).toString(36)}"`;
}

/** Whether an If-None-Match header value matches `etag` (then the answer is 304). */
export function ifNoneMatchMatches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (header === etag) return true;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim();
    return tag === "*" || tag === etag || tag === `W/${etag}`;
  });
}
