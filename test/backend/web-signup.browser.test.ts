// The web sign-up walked in real headless Chromium (which enforces the relay's CSP, form-action
// included) against the fake Google and the fake Twilio on loopback: connect Google Health, confirm
// a mobile number with the code Twilio received, choose alerts and posts, switch to Japanese.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { createTwilioSms } from "../../backend/src/providers/twilio.ts";
import { artifactPath, launchChromium, type Launched } from "../helpers/browser.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { startFakeGoogle, type FakeGoogle } from "../helpers/fake-google.ts";
import { FAKE_FROM, startFakeTwilio, type FakeTwilio } from "../helpers/fake-twilio.ts";
import { startRelay, type TestRelay } from "../helpers/relay.ts";

let chromium: Launched;
let db: TestDatabase;
let google: FakeGoogle;
let twilio: FakeTwilio;
let relay: TestRelay;

beforeAll(async () => {
  [chromium, db, google, twilio] = await Promise.all([launchChromium(), createTestDatabase("sqlite"), startFakeGoogle(), startFakeTwilio()]);
  const env = {
    ...google.env(),
    SMS_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_FROM: FAKE_FROM,
    TWILIO_API_URL: twilio.url,
  };
  const sms = createTwilioSms({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: FAKE_FROM, baseUrl: twilio.url });
  relay = await startRelay({ databaseUrl: db.url, env, sms, sentMessages: () => twilio.messages });
});
afterAll(async () => {
  await chromium?.close();
  await relay?.stop();
  await Promise.all([twilio?.close(), google?.close()]);
  await db?.drop();
});

/** a phone-sized tab; every CSP violation and page error is collected */
async function phoneTab(o: { javaScriptEnabled?: boolean; timezoneId?: string } = {}) {
  const context: BrowserContext = await chromium.browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: "en-US",
    timezoneId: o.timezoneId ?? "America/Los_Angeles",
    javaScriptEnabled: o.javaScriptEnabled ?? true,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    // the Google callback page (not this page) has no icon; the browser's favicon request is no problem of ours
    if (m.type() === "error" && !m.location().url.endsWith("/favicon.ico")) problems.push(`${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  return { context, page, problems };
}

const webDevice = async (id: string) => relay.store.db.selectFrom("devices").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const newestWebDevice = async () =>
  relay.store.db.selectFrom("devices").selectAll().where("model", "=", "web").orderBy("created_at", "desc").orderBy("id", "desc").executeTakeFirstOrThrow();

/** Connect Google Health from the page; the fake consent page approves and sends the browser back. */
async function connectGoogle(page: Page) {
  await page.getByRole("button", { name: "Connect Google Health" }).click();
  await page.waitForURL((u) => u.pathname === "/" && u.hash === "#google");
  await expect.poll(() => page.locator("#google").innerText()).toContain("Now continue to Google to allow access.");
  await page.getByRole("link", { name: "Continue to Google" }).click();
  // the callback page goes (or offers a link) back to the sign-up
  await page.waitForURL((u) => u.pathname === "/" || u.pathname === "/google/callback");
  if (new URL(page.url()).pathname !== "/") {
    await page.locator('a[href="/"], a[href$="://' + new URL(relay.url).host + '/"]').first().click();
    await page.waitForURL((u) => u.pathname === "/");
  }
}

describe("web sign-up in Chromium", () => {
  it("when a wearer signs up on a phone screen, then Google is connected, the number confirmed with the SMS code, and the choices stored, in English and then in Japanese", async () => {
    const user = google.addUser({ timeZone: "Europe/Berlin" });
    google.approveAs(user);
    const { context, page, problems } = await phoneTab();
    try {
      await page.goto(relay.url + "/");
      expect(await page.title()).toBe("WristRelay sign-up");
      await expect.poll(() => page.locator("#timezone").inputValue()).toBe("America/Los_Angeles"); // filled by /static/signup.js

      await connectGoogle(page);
      const id = (await newestWebDevice()).id;
      await expect.poll(() => page.locator("#google").innerText()).toContain("Connected to Google Health");
      expect(await page.locator("#google").innerText()).toContain("activity, sleep, settings");

      await page.locator("#number").fill("(415) 555-2671");
      await page.locator("#country").selectOption("US");
      await page.getByRole("button", { name: "Send the code" }).click();
      await page.waitForURL((u) => u.hash === "#phone");
      expect(await page.locator("#phone").innerText()).toContain("A code was sent to +1 •••• •• 71. Not confirmed yet.");
      const [sms] = await twilio.waitForMessages(1, 5_000);
      expect(sms!.to).toBe("+14155552671");
      const code = /\b(\d{6})\b/.exec(sms!.body ?? "")![1]!;
      await page.locator("#code").fill(code);
      await page.getByRole("button", { name: "Confirm" }).click();
      await expect.poll(() => page.locator("#phone").innerText()).toContain("+1 •••• •• 71: confirmed");
      expect(await page.content()).not.toContain("4155552671");

      for (const level of ["20", "10"]) await page.locator(`input[name=lowBattery][value="${level}"]`).uncheck();
      for (const level of ["30", "15"]) await page.locator(`input[name=lowBattery][value="${level}"]`).check();
      await page.locator("input[name=quiet]").check();
      await page.locator("#quietStart").fill("23:00");
      await page.locator("#quietEnd").fill("06:30");
      await page.getByRole("button", { name: "Save" }).click();
      await expect.poll(() => page.locator("#prefs").innerText()).toContain("Your choices are saved.");
      await page.screenshot({ path: artifactPath("signup-en.png"), fullPage: true });

      await page.locator("#language").selectOption("ja-JP");
      await page.getByRole("button", { name: "Save" }).click();
      await expect.poll(() => page.locator("#prefs").innerText()).toContain("設定を保存しました。");
      expect(await page.locator("html").getAttribute("lang")).toBe("ja");
      expect(await page.locator("#language").inputValue()).toBe("ja-JP");
      expect(await page.locator("#phone").innerText()).toContain("+1 •••• •• 71: 確認済み");
      expect(await page.locator("#google").innerText()).toContain("Google Healthに接続済み");
      expect(await page.locator("#google").innerText()).toContain("活動、睡眠、設定");
      expect(await page.locator("#quietStart").inputValue()).toBe("23:00");
      expect(await page.locator("#quietEnd").inputValue()).toBe("06:30");
      expect(await page.locator('input[name=lowBattery][value="30"]').isChecked()).toBe(true);
      expect(await page.locator('input[name=lowBattery][value="20"]').isChecked()).toBe(false);
      await page.screenshot({ path: artifactPath("signup-ja.png"), fullPage: true });

      // reloading the page after a form does not send the form again
      await page.reload();
      expect(await page.locator("#prefs").innerText()).not.toContain("設定を保存しました。");

      const row = await webDevice(id);
      expect(row).toMatchObject({ model: "web", language: "ja-JP", phone_number: "+14155552671", phone_verified: 1 });
      expect(JSON.parse(row.preferences)).toMatchObject({ lowBattery: [30, 15], quietHours: { start: "23:00", end: "06:30" } });
      const linked = await relay.store.db.selectFrom("google_accounts").select(["status"]).where("device_id", "=", id).executeTakeFirstOrThrow();
      expect(linked.status).toBe("linked");
      expect(problems).toEqual([]);
      expect(twilio.specViolations).toEqual([]);
      expect(google.violations()).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("when the browser runs no JavaScript, then the sign-up still works and the wearer takes the time zone of the Google account", async () => {
    const user = google.addUser({ timeZone: "Asia/Tokyo" });
    google.approveAs(user);
    const { context, page, problems } = await phoneTab({ javaScriptEnabled: false });
    try {
      await page.goto(relay.url + "/");
      expect(await page.locator("#timezone").inputValue()).toBe("");
      await connectGoogle(page);
      await expect.poll(() => page.locator("#google").innerText()).toContain("Connected to Google Health");
      const row = await newestWebDevice();
      expect(row.timezone).toBe("Asia/Tokyo");
      expect(await page.locator("#timezone").inputValue()).toBe("Asia/Tokyo");
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("when the wearer deletes their data, then the page starts over and the record is gone", async () => {
    const { context, page, problems } = await phoneTab();
    try {
      await page.goto(relay.url + "/");
      await page.locator("#number").fill("+14155550142");
      await page.getByRole("button", { name: "Send the code" }).click();
      await page.waitForURL((u) => u.hash === "#phone");
      const id = (await newestWebDevice()).id;
      await page.locator("input[name=confirm]").check();
      await page.getByRole("button", { name: "Delete my data" }).click();
      await page.waitForURL((u) => u.searchParams.get("done") === "erased");
      expect(await page.locator("main").innerText()).toContain("Your data is deleted.");
      expect(await relay.store.db.selectFrom("devices").select("id").where("id", "=", id).executeTakeFirst()).toBeUndefined();
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
