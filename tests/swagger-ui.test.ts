// Swagger UI at /swagger, driven in a real headless Chromium (Debian's /usr/bin/chromium, through
// playwright-core; no browser is downloaded): the page renders from this server alone, with every
// request to another host blocked and none attempted, lists the routes, and "Authorize" with
// `Token <key>` then "Try it out" → "Execute" on GET /account/profile answers 200.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type Browser, type Page, chromium } from "playwright-core";
import { type TestServer, registerUser, startTestServer } from "./support/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const SCREENSHOT = "/tmp/lumotist-swagger-ui.png";

if (!hasChromium) {
  console.warn(`swagger-ui.test.ts: skipped, ${CHROMIUM} does not exist (apt-get install -y chromium)`);
}

let server: TestServer;
let browser: Browser | undefined;

beforeAll(async () => {
  server = await startTestServer();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
}, 60_000);

describe("the /swagger page over HTTP", () => {
  test("is Swagger UI loading its script and stylesheet from this server, never a CDN", async () => {
    const response = await fetch(`${server.base}/swagger`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("text/html");
    const html = await response.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(urls.length).toBeGreaterThan(2);
    for (const url of urls) expect(url, "same-origin asset").toStartWith("/swagger/assets/");
    expect(html).not.toMatch(/unpkg|jsdelivr|cdnjs|https?:\/\//);

    for (const url of urls) {
      const asset = await fetch(server.base + url);
      expect(asset.status, url).toBe(200);
      const type = asset.headers.get("content-type") ?? "";
      if (url.includes(".js")) expect(type, url).toStartWith("text/javascript");
      if (url.includes(".css")) expect(type, url).toStartWith("text/css");
      if (url.includes(".png")) expect(type, url).toBe("image/png");
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(100);
    }
  });

  test("serves only its allow-listed assets", async () => {
    for (const path of ["/swagger/assets/index.html", "/swagger/assets/package.json", "/swagger/assets/..%2F..%2Fpackage.json", "/swagger/assets/%2e%2e/%2e%2e/package.json"]) {
      const response = await fetch(server.base + path);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toEqual({ detail: "Not found." });
    }
  });
});

describe.skipIf(!hasChromium)("Swagger UI in headless Chromium", () => {
  let page: Page;
  const outside: string[] = [];
  const problems: string[] = [];
  const profileRequests: Record<string, string>[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 1600 } });
    page = await context.newPage();
    await page.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.protocol === "data:" || url.hostname === "127.0.0.1") return route.continue();
      outside.push(url.href);
      return route.abort();
    });
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/account/profile") profileRequests.push(request.headers());
    });
  }, 60_000);

  test("renders the routes from /swagger/json, loading nothing from another host", async () => {
    await page.goto(`${server.base}/swagger`, { waitUntil: "networkidle" });
    await page.locator(".opblock").first().waitFor({ timeout: 20_000 });
    await expect(page.locator(".info .title").innerText()).resolves.toContain("Lumotist API");

    const listed = await page.locator(".opblock-summary-path").allInnerTexts();
    const paths = listed.map((text) => text.replace(/\u200b/g, "").trim());
    for (const path of ["/health", "/ready", "/account/register", "/account/login", "/account/profile", "/account/set_picture", "/anime/entry/{id}", "/anime/random"]) {
      expect(paths).toContain(path);
    }
    expect(paths).not.toContain("/acount/set_picture");
    const sections = await page.locator(".opblock-tag").allInnerTexts();
    for (const tag of ["account", "anime", "health"]) expect(sections.some((text) => text.startsWith(tag))).toBeTrue();
    expect(outside).toEqual([]);
  }, 60_000);

  test("Authorize with `Token <key>`, then Try it out → Execute on GET /account/profile answers 200", async () => {
    const user = await registerUser(server);

    await page.locator("button.authorize").first().click();
    const modal = page.locator(".dialog-ux .modal-ux");
    await modal.waitFor();
    await expect(modal.innerText()).resolves.toContain("Token <key>");
    await modal.locator("input").first().fill(`Token ${user.token}`);
    await modal.locator("button.modal-btn.authorize").click();
    await modal.locator("button.btn-done").click();
    await modal.waitFor({ state: "detached" });

    const operation = page.locator("#operations-account-getAccountProfile");
    await operation.locator(".opblock-summary").first().click();
    await operation.locator("button.try-out__btn").click();
    await operation.locator("button.execute").click();

    const live = operation.locator(".live-responses-table .response");
    await live.first().waitFor({ timeout: 20_000 });
    await expect(live.first().locator(".response-col_status").innerText()).resolves.toContain("200");
    const body = await operation.locator(".live-responses-table .response-col_description pre").first().innerText();
    expect(JSON.parse(body)).toMatchObject({ success: true, data: { username: user.username, email: user.email } });

    expect(profileRequests.at(-1)?.authorization).toBe(`Token ${user.token}`);
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    await operation.scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT.replace(".png", "-profile.png") });

    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);
});
