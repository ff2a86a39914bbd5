// The embedded development database: PGlite (PostgreSQL compiled to WASM) served on a Unix socket by
// pglite-socket, so that the rest of the code talks to it through postgres.js exactly as it talks to
// a real PostgreSQL. Only one process may open a PGlite data directory; other processes (the
// importer) reach it through the socket of the process that owns it.
import { mkdirSync, existsSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { resolve, join } from "node:path";

export interface EmbeddedDatabase {
  socketPath: string;
  stop(): Promise<void>;
}

export const EMBEDDED_PORT = 5432;

export function embeddedSocketPath(dataDir: string): string {
  return join(resolve(dataDir), `.s.PGSQL.${EMBEDDED_PORT}`);
}

/** True when another process is serving the embedded database on its socket. */
export function isSocketServed(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((done) => {
    const socket = connect(socketPath);
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

export class EmbeddedDatabaseInUse extends Error {
  constructor(dataDir: string) {
    super(
      `The embedded database in ${dataDir} is already served by another process. ` +
        `Stop it, use another DATA_DIR, or set DATABASE_URL to run several instances on one PostgreSQL.`,
    );
  }
}

export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const socketPath = embeddedSocketPath(dataDir);
  if (await isSocketServed(socketPath)) throw new EmbeddedDatabaseInUse(dataDir);
  mkdirSync(resolve(dataDir), { recursive: true });
  rmSync(socketPath, { force: true }); // left over from a process that was killed

  // Loaded lazily: the WASM build is only needed when no DATABASE_URL is given.
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create(join(resolve(dataDir), "pglite"));
  // Clients are queued query by query (and transaction by transaction) inside PGlite.
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 16 });
  await server.start();

  return {
    socketPath,
    async stop() {
      await server.stop();
      await db.close();
      rmSync(socketPath, { force: true });
    },
  };
}
