// The machine's ceiling for `bun run bench`: a bare Bun.serve answering every request with one fixed
// anime body (the same size as the catalogue's average entry, with the real server's response
// headers), so the only costs left are Bun's HTTP stack and the kernel.
//   CEILING_BODY_FILE=body.json CEILING_HEADERS='{"content-type": …}' PORT=… bun bench/ceiling.ts
const body = await Bun.file(process.env.CEILING_BODY_FILE ?? "").text();
const headers: Record<string, string> = JSON.parse(process.env.CEILING_HEADERS ?? '{"content-type":"application/json; charset=utf-8"}');

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  fetch: () => new Response(body, { headers }),
});
console.log(`ceiling listening on ${server.url.href} (${Buffer.byteLength(body)} byte body)`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
export {};
