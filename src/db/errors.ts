// Classifying database errors: what the client caused (a unique violation) versus what it did not
// (the database being unreachable).

interface PostgresLikeError {
  code?: string;
  constraint_name?: string;
}

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "ENOENT", // Unix socket gone
  "EPIPE",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections: every connection slot (or the role's limit) in use, for now
]);

export function isDatabaseUnreachable(error: unknown): boolean {
  const code = (error as PostgresLikeError | undefined)?.code;
  if (!code) return false;
  return UNREACHABLE_CODES.has(code) || code.startsWith("08"); // class 08: connection exception
}

/** The name of the unique constraint a statement violated, if that is what failed. */
export function violatedUniqueConstraint(error: unknown): string | undefined {
  const e = error as PostgresLikeError | undefined;
  return e?.code === "23505" ? e.constraint_name : undefined;
}

/** The name of the check constraint a statement violated, if that is what failed. */
export function violatedCheckConstraint(error: unknown): string | undefined {
  const e = error as PostgresLikeError | undefined;
  return e?.code === "23514" ? e.constraint_name : undefined;
}

/** Whether PostgreSQL ended the statement to break a deadlock: it had no effect, and may be run again. */
export function isDeadlock(error: unknown): boolean {
  return (error as PostgresLikeError | undefined)?.code === "40P01";
}
