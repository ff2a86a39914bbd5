// CORS: any origin by default (as the original API), or only the listed ones (CORS_ORIGINS).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "./support/server.ts";

describe("CORS_ORIGINS=* (the default)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CORS_ORIGINS: "*" });
  }, 120_000);
  afterAll(() => server?.stop(), 60_000);

  test("a browser request gets Access-Control-Allow-Origin: * and the exposed headers", async () => {
    const response = await server.request("/anime/random", { headers: { origin: "https://app.example" } });
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-expose-headers")).toBe("Retry-After, WWW-Authenticate");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("a preflight is answered 204 with the methods and headers the API uses", async () => {
    const response = await server.request("/account/profile", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("with any origin allowed, the CORS headers are on every answer (static: no Origin needed)", async () => {
    const response = await server.request("/anime/random");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });

  test("errors carry CORS headers too, so a browser can read them", async () => {
    const response = await server.request("/account/profile", { headers: { origin: "https://app.example" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-expose-headers")).toContain("WWW-Authenticate");
  });
});

describe("CORS_ORIGINS=https://app.example,https://admin.example", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CORS_ORIGINS: "https://app.example,https://admin.example" });
  }, 120_000);
  afterAll(() => server?.stop(), 60_000);

  test("a request without Origin gets no Access-Control-Allow-Origin", async () => {
    const response = await server.request("/anime/random");
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("a listed origin is echoed, with Vary: Origin", async () => {
    const response = await server.request("/anime/random", { headers: { origin: "https://admin.example" } });
    expect(response.headers.get("access-control-allow-origin")).toBe("https://admin.example");
    expect(response.headers.get("vary")).toBe("Origin");
  });

  test("another origin gets no Access-Control-Allow-Origin, and its preflight no 204", async () => {
    const response = await server.request("/anime/random", { headers: { origin: "https://evil.example" } });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("vary")).toBe("Origin");
    const preflight = await server.request("/anime/random", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    expect(preflight.status).not.toBe(204);
    expect(preflight.status).toBeLessThan(500);
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });
});
