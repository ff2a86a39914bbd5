# Lumotist API image.
#
#   docker build -t lumotist-api .
#   docker run --rm -p 3000:3000 -e DATABASE_URL=postgres://user:pass@host:5432/db lumotist-api
#
# Without DATABASE_URL the server runs its embedded PGlite database in DATA_DIR (/app/.data); mount a
# volume there to keep it: -v lumotist-data:/app/.data. docker-compose.yml runs it with PostgreSQL.
# tests/container.test.ts checks this file (no Docker engine needed).

# ---- Stage 1: production dependencies only, exactly as locked ----------------------------------
FROM oven/bun:1.4.4-slim AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
# The lockfile's patchedDependencies (a fix to postgres.js, see README "Reliability"), applied by the install.
COPY patches ./patches
RUN bun install --frozen-lockfile --production

# ---- Stage 2: the runtime image -----------------------------------------------------------------
FROM oven/bun:1.4.4-slim AS runtime

# Set at build time, e.g. --build-arg IMAGE_SOURCE=<repository URL> --build-arg IMAGE_REVISION=$(git rev-parse HEAD)
ARG IMAGE_SOURCE=""
ARG IMAGE_REVISION=""
LABEL org.opencontainers.image.title="lumotist-api" \
      org.opencontainers.image.description="Lumotist: accounts with token authentication and an anime catalogue, on Bun + Elysia + PostgreSQL" \
      org.opencontainers.image.version="1.0.0" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${IMAGE_SOURCE}" \
      org.opencontainers.image.revision="${IMAGE_REVISION}"

WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/.data

# The application files stay root-owned (read-only to the server); only the embedded database's
# directory belongs to the bun user.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock bunfig.toml ./
COPY sql ./sql
COPY src ./src
RUN mkdir -p /app/.data && chown bun:bun /app/.data

USER bun
EXPOSE 3000

# /ready: the database answers and every migration is applied. bun is in the image; curl is not.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bun", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

STOPSIGNAL SIGTERM
# No wrapper script: bun is PID 1 and receives SIGTERM itself (graceful shutdown).
ENTRYPOINT []
CMD ["bun", "src/main.ts"]
