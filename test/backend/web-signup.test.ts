// The web sign-up page (GET / and its forms) over plain HTTP, as a browser without JavaScript uses
// it: a cookie jar, the hidden _csrf field read from the page, every redirect followed by hand.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { startFakeGoogle } from "../helpers/fake-google.ts";
import { startFakeX } from "../helpers/fake-x.ts";
import { lastCode, register, startRelay, type TestRelay } from "../helpers/relay.ts";
import { xEnv } from "../helpers/relay-x.ts";

const COOKIE = "wr_signup";

interface PageAnswer {
  status: number;
  location: string | null;
  setCookie: string[];
  text: string;
  headers: Headers;
}

/** One browser: keeps the session cookie, reads the CSRF token of the last page it saw. */
class Visitor {
  cookie: string | undefined;
  csrf: string | undefined;
  constructor(
    readonly base: string,
    readonly headers: Record<string, string> = {},
  ) {}

  private keep(res: Response): string[] {
    const set = res.headers.getSetCookie();
    for (const c of set) {
      const [pair, ...attrs] = c.split(";");
      const eq = pair!.indexOf("=");
      if (pair!.slice(0, eq) !== COOKIE) continue;
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      this.cookie = gone ? undefined : pair!.slice(eq + 1);
    }
    return set;
  }

  async request(method: string, path: string, body?: string, extra: Record<string, string> = {}): Promise<PageAnswer> {
    const headers: Record<string, string> = { ...this.headers, ...extra };
    if (this.cookie !== undefined) headers.cookie = `${COOKIE}=${this.cookie}`;
    if (body !== undefined) headers["content-type"] ??= "application/x-www-form-urlencoded";
    const res = await fetch(this.base + path, { method, headers, body, redirect: "manual" });
    const setCookie = this.keep(res);
    const text = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text);
    if (token) this.csrf = token[1];
    return { status: res.status, location: res.headers.get("location"), setCookie, text, headers: res.headers };
  }

  open(path = "/") {
    return this.request("GET", path);
  }

  /** posts a form with the page's token (unless _csrf is given) and follows the 303 back to the page */
  async submit(path: string, fields: Record<string, string | string[]>): Promise<{ post: PageAnswer; page: PageAnswer }> {
    const form = new URLSearchParams();
    if (!("_csrf" in fields)) form.append("_csrf", this.csrf ?? "");
    for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
    const post = await this.request("POST", path, form.toString());
    expect(post.status, post.text).toBe(303);
    const page = await this.open(new URL(post.location!, this.base).pathname + new URL(post.location!, this.base).search);
    return { post, page };
  }
}

/** the visible text of a page, tags dropped, entities of the page kept as they are */
const visible = (markup: string) => markup.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

for (const kind of DB_KINDS) {
  describe(`web sign-up (${kind})`, () => {
    let db: TestDatabase;
    let relay: TestRelay;
    beforeAll(async () => {
      db = await createTestDatabase(kind);
      relay = await startRelay({ databaseUrl: db.url });
    });
    afterAll(async () => {
      await relay?.stop();
      await db?.drop();
    });

    const webDevices = () => relay.store.db.selectFrom("devices").selectAll().where("model", "=", "web").execute();
    const deviceOf = async (v: Visitor) => {
      const id = JSON.parse(Buffer.from(v.cookie!.split(".")[0]!, "base64url").toString("utf8")).device as string;
      return relay.store.db.selectFrom("devices").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    };

    it("when a visitor opens /, then an English page comes with a signed HttpOnly SameSite session cookie and nothing is stored", async () => {
      const before = (await webDevices()).length;
      const v = new Visitor(relay.url);
      const r = await v.open();
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toContain("text/html");
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(r.text).toContain('<html lang="en">');
      expect(r.text).toContain("Your mobile number");
      const cookie = r.setCookie.find((c) => c.startsWith(`${COOKIE}=`))!;
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; SameSite=Lax/);
      expect(cookie).toMatch(/; Max-Age=15552000/);
      expect(cookie).toMatch(/; Path=\//);
      expect(cookie).not.toMatch(/Secure/);
      expect(v.csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect((await webDevices()).length).toBe(before);
      // the relay has no Google Health client here: the step says so and offers nothing
      expect(r.text).toContain("This relay has no Google Health set up");
      expect(r.text).not.toContain('action="/signup/google"');
    });

    it("when the visitor sends a number, then a web wearer is stored, a code goes out, and the page shows the number masked and not confirmed", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      const { post, page } = await v.submit("/signup/phone", { number: "(415) 555-2671", country: "US", tz: "Asia/Tokyo" });
      expect(post.location).toBe("/#phone");
      expect(page.text).toContain("We sent a 6-digit code to +1 •••• •• 71");
      expect(page.text).toContain("A code was sent to +1 •••• •• 71. Not confirmed yet.");
      expect(page.text).not.toContain("4155552671");
      const row = await deviceOf(v);
      expect(row).toMatchObject({ model: "web", timezone: "Asia/Tokyo", language: "en-US", phone_number: "+14155552671", phone_verified: 0 });
      expect(await lastCode(relay, "+14155552671")).toMatch(/^\d{6}$/);
      // the message is shown once: a reload does not repeat it
      expect((await v.open()).text).not.toContain("We sent a 6-digit code");
    });

    it("when the code is wrong, then the page says so with the tries left; the right code confirms the number", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      await v.submit("/signup/phone", { number: "+14155550161" });
      const code = await lastCode(relay, "+14155550161");
      const wrong = code === "000000" ? "111111" : "000000";
      const bad = await v.submit("/signup/code", { code: wrong });
      expect(bad.page.text).toContain("That code is not right. 4 tries left.");
      const format = await v.submit("/signup/code", { code: "12ab" });
      expect(format.page.text).toContain("The code has 6 digits.");
      const ja = await v.open("/?lang=ja");
      expect(ja.text).toContain("まだ確認されていません");
      const badJa = await v.submit("/signup/code", { code: wrong });
      expect(badJa.page.text).toContain("コードが違います。あと3回試せます。");
      const ok = await v.submit("/signup/code", { code: code.slice(0, 3) + " " + code.slice(3) });
      expect(ok.page.text).toContain("+1 •••• •• 61: 確認済み");
      expect((await deviceOf(v)).phone_verified).toBe(1);
    });

    it("when the CSRF token is missing or wrong, then the answer is a 403 page and nothing is stored", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      const before = (await webDevices()).length;
      const forms: [string, Record<string, string>][] = [
        ["/signup/phone", { number: "+14155550162" }],
        ["/signup/preferences", { lowBattery: "30", summaryTime: "08:00", language: "ja-JP", timezone: "Asia/Tokyo" }],
        ["/signup/google", {}],
        ["/signup/erase", { confirm: "on" }],
      ];
      for (const [path, fields] of forms) {
        for (const token of [undefined, "", "x".repeat(24), v.csrf + "x"]) {
          const body = new URLSearchParams(fields);
          if (token !== undefined) body.set("_csrf", token);
          const r = await v.request("POST", path, body.toString());
          expect(r.status, `${path} ${token}`).toBe(403);
          expect(r.headers.get("content-type")).toContain("text/html");
          expect(r.text).toContain("This form has expired");
          expect(r.text).toContain("Nothing was changed");
        }
      }
      // the right token, but from a page without the cookie (another site's form)
      const stranger = new Visitor(relay.url);
      const r = await stranger.request("POST", "/signup/phone", new URLSearchParams({ _csrf: v.csrf!, number: "+14155550162" }).toString());
      expect(r.status).toBe(403);
      expect((await webDevices()).length).toBe(before);
      expect(await relay.store.db.selectFrom("deliveries").select("id").where("to_number", "=", "+14155550162").execute()).toEqual([]);
    });

    it("when the cookie is tampered with, then the visitor is a new one and the old token no longer works", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      await v.submit("/signup/phone", { number: "+14155550163" });
      const token = v.csrf!;
      const [payload, mac] = v.cookie!.split(".");
      const forged = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8"));
      forged.device = "dev_someone_else";
      v.cookie = Buffer.from(JSON.stringify(forged)).toString("base64url") + "." + mac;
      const page = await v.open();
      expect(page.text).not.toContain("•• 63");
      expect(page.text).toContain("Nothing is stored until you send one of the forms below.");
      expect(v.csrf).not.toBe(token);
      v.cookie = payload + "." + mac!.slice(0, -2) + (mac!.endsWith("AA") ? "BB" : "AA");
      const r = await v.request("POST", "/signup/phone/remove", new URLSearchParams({ _csrf: token }).toString());
      expect(r.status).toBe(403);
    });

    it("when the visitor asks for Japanese, then the page is in Japanese, remembered by the session; Accept-Language chooses until then", async () => {
      const v = new Visitor(relay.url);
      const en = await v.open();
      expect(en.text).toContain('href="/?lang=ja"');
      const ja = await v.open("/?lang=ja");
      expect(ja.text).toContain('<html lang="ja">');
      expect(ja.text).toContain("携帯電話番号");
      expect(ja.text).toContain('href="/?lang=en"');
      expect((await v.open()).text).toContain('<html lang="ja">');
      expect((await v.open("/?lang=en")).text).toContain('<html lang="en">');
      expect((await v.open("/?lang=xx")).text).toContain('<html lang="en">');

      const browserJa = new Visitor(relay.url, { "accept-language": "ja-JP,ja;q=0.9,en;q=0.5" });
      expect((await browserJa.open()).text).toContain('<html lang="ja">');
      const prefersEn = new Visitor(relay.url, { "accept-language": "fr-FR, en;q=0.8, ja;q=0.7" });
      expect((await prefersEn.open()).text).toContain('<html lang="en">');
      // a wearer made from a Japanese page gets texts in Japanese
      await browserJa.submit("/signup/phone", { number: "+819012345678" });
      expect((await deviceOf(browserJa)).language).toBe("ja-JP");
      const code = await lastCode(relay, "+819012345678");
      const msg = (await relay.outbox!.list()).find((m) => m.to === "+819012345678")!;
      expect(msg.body).toContain(`WristRelayの確認コード: ${code}`);
    });

    it("when what the wearer typed contains markup, then the page shows it as text", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      const evil = `<script>alert("x")</script>`;
      const { page } = await v.submit("/signup/preferences", { lowBattery: "20", summaryTime: "00:10", language: "en-US", timezone: evil });
      expect(page.text).not.toContain("<script>alert");
      expect(page.text).toContain("“&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;” is not a time zone");
      expect(v.cookie && JSON.parse(Buffer.from(v.cookie.split(".")[0]!, "base64url").toString()).device).toBeFalsy();
    });

    it("when the wearer saves thresholds, quiet hours, posts, summary time, language and time zone, then the record holds them and the page shows them", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      const { post, page } = await v.submit("/signup/preferences", {
        sms: "on",
        lowBattery: ["30", "15"],
        quiet: "on",
        quietStart: "23:00",
        quietEnd: "06:30",
        postActivity: "on",
        summaryTime: "07:45",
        language: "ja-JP",
        timezone: "Europe/Paris",
      });
      expect(post.location).toBe("/#prefs");
      const row = await deviceOf(v);
      expect(row).toMatchObject({ model: "web", timezone: "Europe/Paris", language: "ja-JP" });
      expect(JSON.parse(row.preferences)).toMatchObject({
        lowBattery: [30, 15],
        quietHours: { start: "23:00", end: "06:30" },
        summaryTime: "07:45",
        postActivity: true,
        postSleep: false,
        sms: true,
      });
      // the page follows the language chosen for texts and posts
      expect(page.text).toContain('<html lang="ja">');
      expect(page.text).toContain("設定を保存しました。");
      expect(page.text).toContain('name="lowBattery" value="30" checked');
      expect(page.text).toContain('name="lowBattery" value="20">');
      expect(page.text).toContain('value="23:00"');
      expect(page.text).toContain('<option value="ja-JP" selected>');

      const none = await v.submit("/signup/preferences", { summaryTime: "07:45", language: "ja-JP", timezone: "Europe/Paris" });
      expect(none.page.text).toContain("電池残量を1つから4つ選んでください。");
      const bad = await v.submit("/signup/preferences", {
        lowBattery: ["50", "40", "30", "20", "10"],
        quiet: "on",
        quietStart: "23:00",
        quietEnd: "23:00",
        summaryTime: "25:00",
        language: "fr-FR",
        timezone: "Mars/Base",
      });
      expect(visible(bad.page.text)).toContain("電池残量を1つから4つ選んでください。");
      expect(bad.page.text).toContain("おやすみ時間には、異なる開始時刻と終了時刻を指定してください。");
      expect(bad.page.text).toContain("まとめの時刻は07:30のように時と分で指定してください。");
      expect(bad.page.text).toContain("英語か日本語を選んでください。");
      expect(bad.page.text).toContain("「Mars/Base」はタイムゾーンではありません");
      expect(JSON.parse((await deviceOf(v)).preferences).lowBattery).toEqual([30, 15]);
    });

    it("when no time zone comes from the browser, then the wearer starts in UTC", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      await v.submit("/signup/phone", { number: "+14155550164", tz: "" });
      expect((await deviceOf(v)).timezone).toBe("UTC");
    });

    it("when too many codes are asked for, then the page says when to try again and no code goes out", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      for (let i = 0; i < 3; i++) {
        const { page } = await v.submit("/signup/phone", { number: "+14155550165" });
        expect(page.text).toContain("We sent a 6-digit code");
      }
      const sentTo = async (n: string) => {
        await relay.running.worker.drain();
        return (await relay.outbox!.list()).filter((m) => m.to === n).length;
      };
      expect(await sentTo("+14155550165")).toBe(3);
      const { post, page } = await v.submit("/signup/phone", { again: "1" });
      expect(post.status).toBe(303);
      expect(page.text).toContain("Too many codes were asked for. Try again in 60 minutes.");
      expect(await sentTo("+14155550165")).toBe(3);
    });

    it("when the number is refused, then the page says why in the page's language", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      expect((await v.submit("/signup/phone", { number: "hello" })).page.text).toContain("That is not a valid mobile number.");
      expect((await v.submit("/signup/phone", { number: "+79161234567" })).page.text).toContain(
        "This relay sends texts only to numbers in US, CA, GB, JP, DE, FR, AU.",
      );
      await v.open("/?lang=ja");
      expect((await v.submit("/signup/phone", { number: "" })).page.text).toContain("有効な携帯電話番号ではありません。");
      expect((await v.submit("/signup/code", { code: "123456" })).page.text).toContain("確認待ちのコードはありません。");
    });

    it("when the wearer deletes their data, then every record goes and the cookie is cleared; without the box ticked nothing goes", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      await v.submit("/signup/phone", { number: "+14155550166" });
      const id = (await deviceOf(v)).id;
      const unticked = await v.submit("/signup/erase", {});
      expect(unticked.post.location).toBe("/#erase");
      expect(unticked.page.text).toContain("Tick the box to confirm");
      expect(await relay.store.db.selectFrom("devices").select("id").where("id", "=", id).executeTakeFirst()).toBeTruthy();

      const form = new URLSearchParams({ _csrf: v.csrf!, confirm: "on" });
      const post = await v.request("POST", "/signup/erase", form.toString());
      expect(post.status).toBe(303);
      expect(post.location).toBe("/?done=erased");
      expect(post.setCookie.find((c) => c.startsWith(`${COOKIE}=;`))).toMatch(/Max-Age=0/);
      expect(v.cookie).toBeUndefined();
      expect(await relay.store.db.selectFrom("devices").select("id").where("id", "=", id).executeTakeFirst()).toBeUndefined();
      expect(await relay.store.db.selectFrom("codes").select("device_id").where("device_id", "=", id).executeTakeFirst()).toBeUndefined();
      const page = await v.open(post.location!);
      expect(page.text).toContain("Your data is deleted.");
      expect(page.text).toContain("Nothing is stored until you send one of the forms below.");
    });

    it("when forms get odd or oversized bodies, then the answer is never a 5xx", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      await v.submit("/signup/phone", { number: "+14155550167" });
      const t = encodeURIComponent(v.csrf!);
      const bodies = [
        `_csrf=${t}`,
        `_csrf=${t}&_csrf=${t}`,
        `_csrf=${t}&number=%00%ff%fe&country=%E2%80%AE&code=${"9".repeat(5000)}`,
        `_csrf=${t}&lowBattery=-1&lowBattery=1e3&lowBattery=&quiet=on&quietStart=&summaryTime=%25&language=&timezone=${"A/".repeat(100)}`,
        `_csrf=${t}&lowBattery[]=30&lowBattery[x]=1&again=1&tz=../../etc`,
        `_csrf=${t}&${Array.from({ length: 150 }, (_, i) => `f${i}=1`).join("&")}`,
        `_csrf=${t}&number=${"1".repeat(20_000)}`,
        "%%%",
      ];
      for (const path of ["/signup/phone", "/signup/code", "/signup/preferences", "/signup/phone/remove", "/signup/google", "/signup/x", "/signup/x/unlink"]) {
        for (const body of bodies) {
          const r = await v.request("POST", path, body);
          expect(r.status, `${path} ${body.slice(0, 60)}`).toBeLessThan(500);
          if (r.status !== 303) expect(r.headers.get("content-type")).toContain("text/html");
        }
        const json = await v.request("POST", path, JSON.stringify({ _csrf: v.csrf }), { "content-type": "application/json" });
        expect(json.status).toBe(403);
      }
      const big = await v.request("POST", "/signup/phone", `_csrf=${t}&number=${"1".repeat(20_000)}`);
      expect(big.status).toBe(413);
      expect(big.text).toContain("Nothing was changed");
      expect((await v.open()).status).toBe(200);
    });

    it("when the session is older than its lifetime, then the visitor is a new one", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      await v.submit("/signup/phone", { number: "+14155550168" });
      expect((await v.open()).text).toContain("•• 68");
      relay.clock.advance(181 * 86_400_000);
      try {
        expect((await v.open()).text).not.toContain("•• 68");
      } finally {
        relay.clock.advance(-181 * 86_400_000);
      }
    });

    /**
     * Links X from the sign-up in the same tab, as a browser: /signup/x -> /x/start -> the stand-in
     * consent page -> Approve or Deny -> /x/callback. Answers the callback page and where /x/start was.
     */
    async function linkXFromSignup(v: Visitor, decision: "approve" | "deny") {
      const go = await v.request("GET", "/signup/x");
      expect(go.status).toBe(302);
      expect(go.location).toMatch(/^\/x\/start\?flow=[A-Za-z0-9_-]{20,}$/);
      const start = await v.request("GET", go.location!);
      expect(start.status).toBe(302);
      expect(start.location!.startsWith(relay.url + "/dev/x/authorize?")).toBe(true);
      const consent = await (await fetch(start.location!)).text();
      expect(consent).toContain("nothing is posted to X");
      const form = new URLSearchParams([...consent.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [m[1], m[2].replace(/&#(\d+);/g, (_x, n: string) => String.fromCharCode(Number(n)))]));
      form.set("decision", decision);
      const decided = await fetch(relay.url + "/dev/x/authorize", { method: "POST", body: form, redirect: "manual" });
      expect(decided.status).toBe(303);
      const back = new URL(decided.headers.get("location")!);
      expect(`${back.origin}${back.pathname}`).toBe(relay.url + "/x/callback");
      return { callback: await v.request("GET", back.pathname + back.search), start: go.location! };
    }

    it("when X posting is recorded instead of sent, then the page says so and links X through the relay's stand-in consent page", async () => {
      const v = new Visitor(relay.url);
      const page = await v.open();
      expect(page.text).toContain("This relay records the daily posts instead of sending them to X");
      expect(page.text).toContain('action="/signup/x"');
      const none = await v.request("GET", "/signup/x");
      expect(none.status).toBe(303);
      expect(none.location).toBe("/#x");
      const { page: next } = await v.submit("/signup/x", {});
      // the same tab goes to X and comes back: no new tab, no script needed
      expect(next.text).toContain('<a class="button" href="/signup/x">Link X</a>');
      expect(next.text).not.toContain("_blank");
      expect(next.text).toContain("After you approve on X, Continue brings you back here.");
      const { callback } = await linkXFromSignup(v, "approve");
      expect(callback.status).toBe(200);
      expect(callback.text).toMatch(/Linked as @outbox_[a-z0-9]{6}/);
      expect(callback.text).toContain('<a class="button" id="continue" href="/">Continue</a>');
      expect(callback.text).not.toContain("You can close this page.");
      expect((await v.open()).text).toMatch(/Linked as @outbox_[a-z0-9]{6}/);
      expect((await v.submit("/signup/x/unlink", {})).page.text).toContain("No X account linked.");
    });

    it("when a visitor links X from the sign-up, then the result page continues to / and the page there shows X linked", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      await v.submit("/signup/x", {});
      const { callback, start } = await linkXFromSignup(v, "approve");
      expect(callback.status).toBe(200);
      const name = /Linked as @(outbox_[a-z0-9]{6})/.exec(callback.text)?.[1];
      expect(name).toBeDefined();
      const href = /<a class="button" id="continue" href="([^"]*)">Continue<\/a>/.exec(callback.text)?.[1];
      expect(href).toBe("/");
      const back = await v.open(href);
      expect(back.status).toBe(200);
      expect(visible(back.text)).toContain(`✓ Linked as @${name}`);
      expect(back.text).toContain('action="/signup/x/unlink"');
      // the browser's Back to the used /x/start link: refused, and still a way back
      const again = await v.request("GET", start);
      expect(again.status).toBe(400);
      expect(again.text).toContain("This link was already used.");
      expect(again.text).toContain('<a class="button" id="continue" href="/">Continue</a>');
    });

    it("when a visitor denies X from the sign-up, then the result page says nothing was linked and still continues to /, in the wearer's language", async () => {
      const v = new Visitor(relay.url);
      await v.open();
      await v.submit("/signup/x", {});
      const { callback } = await linkXFromSignup(v, "deny");
      expect(callback.status).toBe(400);
      expect(callback.text).toContain("You did not allow WristRelay to post. Nothing was linked.");
      expect(callback.text).toContain('<a class="button" id="continue" href="/">Continue</a>');
      const back = await v.open("/");
      expect(back.text).toContain("No X account linked.");
      expect(back.text).toContain('<a class="button" href="/signup/x">Link X</a>');

      const ja = new Visitor(relay.url, { "accept-language": "ja" });
      await ja.open();
      await ja.submit("/signup/x", {});
      const denied = await linkXFromSignup(ja, "deny");
      expect(denied.callback.status).toBe(400);
      expect(denied.callback.text).toContain("投稿が許可されなかったため、連携していません。");
      expect(denied.callback.text).toContain('<a class="button" id="continue" href="/">続ける</a>');
    });
  });
}

describe("web sign-up, relay settings", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("when the relay's public URL is https, then the session cookie is Secure", async () => {
    const relay = await startRelay({ databaseUrl: db.url, env: { PUBLIC_URL: "https://relay.example.org" } });
    try {
      const r = await new Visitor(relay.url).open();
      expect(r.setCookie.find((c) => c.startsWith(`${COOKIE}=`))).toMatch(/; Secure/);
    } finally {
      await relay.stop();
    }
  });

  it("when registrations from the address are used up, then the page says when to try again and no wearer is stored", async () => {
    const relay = await startRelay({ databaseUrl: db.url, env: { REGISTRATIONS_PER_HOUR: "1" } });
    try {
      const first = new Visitor(relay.url);
      await first.open();
      expect((await first.submit("/signup/phone", { number: "+14155550169" })).page.text).toContain("We sent a 6-digit code");
      const count = async () => (await relay.store.db.selectFrom("devices").select("id").execute()).length;
      const before = await count();
      const second = new Visitor(relay.url);
      await second.open();
      const { page } = await second.submit("/signup/phone", { number: "+14155550170" });
      expect(page.text).toContain("Too many sign-ups from your network. Try again in 60 minutes.");
      expect(await count()).toBe(before);
      // the first visitor is not affected: the limit is on making wearers
      expect((await first.submit("/signup/phone", { again: "1" })).page.text).toContain("We sent a 6-digit code");
    } finally {
      await relay.stop();
    }
  });

  it("when the script is asked for, then it is served as JavaScript from the relay", async () => {
    const relay = await startRelay({ databaseUrl: db.url });
    try {
      const r = await fetch(relay.url + "/static/signup.js");
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toContain("text/javascript");
      expect(await r.text()).toContain("resolvedOptions().timeZone");
      const page = await (await fetch(relay.url + "/")).text();
      expect(page).toContain('<script src="/static/signup.js" defer></script>');
      expect(page).not.toMatch(/<script>/);
    } finally {
      await relay.stop();
    }
  });

  it("when the relay posts to X, then a wearer links X from a plain link through /x/start and X's consent, sees @name, and can unlink", async () => {
    const fake = await startFakeX({ user: { id: "1000000000000000042", username: "wrist_<b>", name: "Web Wearer" } });
    const relay = await startRelay({ databaseUrl: db.url, env: xEnv(fake) });
    try {
      const v = new Visitor(relay.url);
      const first = await v.open();
      expect(first.text).toContain("No X account linked.");
      // no wearer yet: a form makes one, then the page links to the relay URL that leaves for X
      expect(first.text).toContain('action="/signup/x"');
      const { page } = await v.submit("/signup/x", {});
      expect(page.text).toContain("Now continue to X to allow posting.");
      expect(page.text).toContain('<a class="button" href="/signup/x">Link X</a>');
      const go = await v.request("GET", "/signup/x");
      expect(go.status).toBe(302);
      expect(go.location).toMatch(/^\/x\/start\?flow=[A-Za-z0-9_-]{20,}$/);
      const start = await fetch(relay.url + go.location, { redirect: "manual" });
      expect(start.status).toBe(302);
      expect(start.headers.get("location")!.startsWith(fake.authorizeUrl)).toBe(true);
      const consent = await fetch(start.headers.get("location")!, { redirect: "manual" });
      const callback = await fetch(consent.headers.get("location")!, { redirect: "manual" });
      expect(callback.status).toBe(200);
      expect(await callback.text()).toContain('<a class="button" id="continue" href="/">Continue</a>');
      const linked = await v.open();
      expect(linked.text).toContain("Linked as @wrist_&lt;b&gt;");
      expect(linked.text).not.toContain("wrist_<b>");
      const unlinked = await v.submit("/signup/x/unlink", {});
      expect(unlinked.page.text).toContain("X is unlinked.");
      expect(unlinked.page.text).toContain("No X account linked.");
      expect(fake.specViolations).toEqual([]);
    } finally {
      await relay.stop();
      await fake.close();
    }
  });

  it("when the relay has Google Health, then a new visitor connects through a form, then a plain link to the relay's Google flow; a broken link asks to connect again", async () => {
    const google = await startFakeGoogle();
    const relay = await startRelay({ databaseUrl: db.url, env: google.env() });
    try {
      const v = new Visitor(relay.url);
      const first = await v.open();
      expect(first.text).toContain('action="/signup/google"');
      expect(first.text).not.toContain("no Google Health set up");
      // without a wearer the link only leads back to the page
      const early = await v.request("GET", "/signup/google");
      expect(early.status).toBe(303);
      expect(early.location).toBe("/#google");
      const { post, page } = await v.submit("/signup/google", { tz: "Europe/Madrid" });
      expect(post.location).toBe("/#google");
      expect(page.text).toContain("Now continue to Google to allow access.");
      expect(page.text).toContain('<a class="button" href="/signup/google">Continue to Google</a>');
      const go = await v.request("GET", "/signup/google");
      expect(go.status).toBe(302);
      expect(go.location).toMatch(/\/google\/start\?flow=[A-Za-z0-9_-]{20,}$/);
      const start = await fetch(new URL(go.location!, relay.url), { redirect: "manual" });
      expect(start.status).toBe(302);
      expect(start.headers.get("location")!.startsWith(google.url + "/o/oauth2/v2/auth")).toBe(true);
      const consent = await fetch(start.headers.get("location")!, { redirect: "manual" });
      const callback = await fetch(consent.headers.get("location")!, { redirect: "manual" });
      expect([200, 302, 303]).toContain(callback.status);
      const connected = await v.open();
      expect(connected.text).toContain("Connected to Google Health");
      const id = JSON.parse(Buffer.from(v.cookie!.split(".")[0]!, "base64url").toString("utf8")).device as string;
      await relay.store.db.updateTable("google_accounts").set({ status: "broken" }).where("device_id", "=", id).execute();
      const broken = await v.open("/?lang=ja");
      expect(broken.text).toContain("Google Healthとの接続が切れました。もう一度接続してください。");
      expect(broken.text).toContain('<a class="button" href="/signup/google">再接続</a>');
      expect(google.violations()).toEqual([]);
    } finally {
      await relay.stop();
      await google.close();
    }
  });
  it("when the relay's Google client has as many users as GOOGLE_USER_CAP allows, then a new visitor is told in words, not sent to Google's refusal", async () => {
    const google = await startFakeGoogle();
    const relay = await startRelay({ databaseUrl: db.url, env: { ...google.env(), GOOGLE_USER_CAP: "1" } });
    try {
      // someone is connected already: the one place is taken
      const { deviceId } = await register(relay.url);
      const now = new Date().toISOString();
      await relay.store.db
        .insertInto("google_accounts")
        .values({ device_id: deviceId, health_user_id: "hu-other", access_token: "sealed", refresh_token: null, expires_at: now, scopes: "", time_zone: null, distance_unit: null, status: "linked", broken_at: null, created_at: now, updated_at: now })
        .execute();
      const v = new Visitor(relay.url);
      await v.open();
      const { post, page } = await v.submit("/signup/google", { tz: "Europe/Madrid" });
      expect(post.location).toBe("/#google");
      expect(page.text).toContain("This relay cannot connect more wearers to Google Health for now. Please ask its operator.");
      expect(page.text).not.toContain("Continue to Google");
    } finally {
      await relay.stop();
      await google.close();
    }
  });
});
