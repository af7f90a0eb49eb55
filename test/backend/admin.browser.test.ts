// The operator page in a real headless Chromium: sign in, read the figures, retry a dead letter and
// see it sent, sign out. Screenshots: test/artifacts/admin.png (laptop) and admin-phone.png.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { artifactPath, launchChromium, type Launched } from "../helpers/browser.ts";
import { battery, call, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

const TOKEN = "operator-token-browser-0123456789";
let db: TestDatabase;
let relay: TestRelay;
let chromium: Launched;
let deadId: string;

beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  relay = await startRelay({ databaseUrl: db.url, env: { ADMIN_TOKEN: TOKEN } });
  // three wearers, two with a confirmed number, one low-battery alert each
  for (const n of ["+14155550131", "+14155550132"]) {
    const { token } = await verifiedWearer(relay, n);
    await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 9) });
  }
  await call(relay.url, "POST", "/v1/devices", { json: { timezone: "Asia/Tokyo", language: "ja-JP" } });
  await relay.running.worker.drain();
  // a dead letter: an alert the provider refused for good
  const now = relay.clock.now().toISOString();
  deadId = "dl_browser_dead_0001";
  await relay.store.db
    .insertInto("deliveries")
    .values({
      id: deadId,
      device_id: null,
      channel: "sms",
      kind: "low_battery",
      to_number: "+14155550131",
      body: "Your watch battery is at 9%.",
      status: "dead",
      attempts: 8,
      next_attempt_at: now,
      claimed_until: null,
      claimed_by: null,
      provider_id: null,
      error: "max_attempts (transient: 503 Service Unavailable)",
      event_id: null,
      created_at: now,
      sent_at: null,
      updated_at: now,
    })
    .execute();
  chromium = await launchChromium();
}, 120_000);

afterAll(async () => {
  await chromium?.close();
  await relay?.stop();
  await db?.drop();
});

describe("the operator page in a browser", () => {
  it("when the operator signs in and presses Retry on a dead letter, then the page shows it sent and the figures match", async () => {
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    try {
      const first = await page.goto(relay.url + "/admin");
      expect(first?.status()).toBe(401);
      await page.fill("#token", "not-the-token");
      await page.click("button[type=submit]");
      await expect.poll(() => page.textContent("[role=alert]")).toContain("That token is not right.");
      await page.fill("#token", TOKEN);
      await Promise.all([page.waitForURL(relay.url + "/admin"), page.click("button[type=submit]")]);
      await page.waitForSelector("h1:text('WristRelay operator')");

      const figure = (id: string) => page.textContent(`[data-figure="${id}"] .n`);
      expect(await figure("wearers")).toBe("3");
      expect(await figure("verified")).toBe("2");
      expect(await figure("dead")).toBe("1");
      expect(await page.textContent("#deliveries-24h tr[data-channel=sms] td[data-status=sent]")).toBe("4"); // 2 codes + 2 alerts
      expect(await page.textContent("#dead-letters")).toContain("+1 •••• •• 31");
      expect(await page.content()).not.toContain("4155550131");

      await page.screenshot({ path: artifactPath("admin-dead-letter.png"), fullPage: true });
      const row = page.locator(`#dead-letters tr[data-id="${deadId}"]`);
      await Promise.all([page.waitForURL(/\/admin\?retried=/), row.locator("button", { hasText: "Retry" }).click()]);
      // the worker sends it within a poll or two; the page says so once reloaded
      await expect
        .poll(
          async () => {
            await page.reload();
            return page.textContent("[role=status]");
          },
          { timeout: 10_000, interval: 200 },
        )
        .toContain(`${deadId}: now sent`);
      expect(await page.locator("#no-dead").textContent()).toBe("No dead letters.");
      expect(await figure("dead")).toBe("0");
      expect(await page.textContent("#deliveries-24h tr[data-channel=sms] td[data-status=sent]")).toBe("5");
      const outbox = await relay.outbox!.list();
      expect(outbox.filter((m) => m.ref === deadId)).toHaveLength(1);

      await page.screenshot({ path: artifactPath("admin.png"), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: artifactPath("admin-phone.png"), fullPage: true });
      // nothing overflows a phone's width but the tables' own scroll boxes
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

      await Promise.all([page.waitForURL(relay.url + "/admin"), page.click("text=Sign out")]);
      await page.waitForSelector("#token");
      expect((await context.cookies()).find((c) => c.name === "wr_admin")).toBeUndefined();
    } finally {
      await context.close();
    }
  }, 60_000);
});
