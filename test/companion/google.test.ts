// The Google Health and X link buttons as the companion carries them: settings writes a press, the
// companion calls the relay and writes the outcome back for the page.
import { afterEach, describe, expect, it } from "vitest";
import { KEYS, MORE_KEYS } from "../../common/settings";
import { STATE_KEYS } from "../../companion/companion";
import { Harness, startHarness, T0 } from "./harness";

let h: Harness;
afterEach(async () => {
  if (h) await h.close();
});

describe("connecting Google Health from the settings page", () => {
  it("when the wearer presses Connect Google Health, then the page gets the relay's link to open, once", async () => {
    h = await startHarness();
    h.settings.pageSet(MORE_KEYS.googleLink, String(T0));
    await h.settle();
    expect(h.relay.callsTo("POST /v1/google/link")).toHaveLength(1);
    expect(h.settings.json(MORE_KEYS.googleStatus)).toMatchObject({ state: "open_url", url: "https://relay.example/google/start?flow=abc" });
    await h.restart();
    expect(h.relay.callsTo("POST /v1/google/link")).toHaveLength(1);
  });

  it("when the wearer consented at Google, then the next check shows the link with what was granted; when it later breaks, then the page says so", async () => {
    h = await startHarness();
    h.settings.pageSet(MORE_KEYS.googleLink, String(T0));
    await h.settle();
    h.relay.me.google = { linked: true, status: "linked", granted: { activity: true, sleep: false, settings: true } };
    await h.clock.advance(20 * 60000);
    h.me.wake();
    await h.settle();
    expect(h.settings.json(MORE_KEYS.googleStatus)).toMatchObject({ state: "linked", granted: { activity: true, sleep: false, settings: true } });
    h.relay.me.google = { linked: true, status: "broken", granted: { activity: true, sleep: false, settings: true } };
    await h.clock.advance(13 * 3600000);
    h.me.wake();
    await h.settle();
    expect(h.settings.json(MORE_KEYS.googleStatus)).toMatchObject({ state: "broken" });
  });

  it("when the relay has no Google set up, then the page shows why and the press is not retried", async () => {
    h = await startHarness();
    h.relay.failNext("POST /v1/google/link", { status: 409, code: "google_not_configured" });
    h.settings.pageSet(MORE_KEYS.googleLink, String(T0));
    await h.settle();
    expect(h.settings.json(MORE_KEYS.googleStatus)).toMatchObject({ state: "error", code: "google_not_configured" });
    h.me.wake();
    await h.settle();
    expect(h.relay.callsTo("POST /v1/google/link")).toHaveLength(1);
  });

  it("when the relay cannot be reached, then the press is retried at the next wake-up", async () => {
    h = await startHarness();
    h.relay.failNext("POST /v1/google/link", { status: 503 });
    h.settings.pageSet(MORE_KEYS.googleLink, String(T0));
    await h.settle();
    expect(h.settings.json(MORE_KEYS.googleStatus)).toMatchObject({ state: "error" });
    h.me.wake();
    await h.settle();
    expect(h.relay.callsTo("POST /v1/google/link")).toHaveLength(2);
    expect(h.settings.json(MORE_KEYS.googleStatus)).toMatchObject({ state: "open_url" });
  });

  it("when the wearer presses Unlink Google Health, then the relay gets DELETE /v1/me/google and the page shows it is not connected", async () => {
    h = await startHarness();
    h.relay.me.google = { linked: true, status: "linked", granted: { activity: true, sleep: true, settings: true } };
    h.settings.pageSet(MORE_KEYS.googleUnlink, String(T0));
    await h.settle();
    expect(h.relay.callsTo("DELETE /v1/me/google")).toHaveLength(1);
    expect(h.settings.json(MORE_KEYS.googleStatus)).toMatchObject({ state: "none" });
    expect(h.relay.me.google).toEqual({ linked: false });
  });

  it("when Connect was pressed after Unlink while the companion was away, then the newer press wins: a fresh link, no unlink", async () => {
    h = await startHarness({
      beforeStart: (x) => {
        x.settings.pageSet(MORE_KEYS.googleUnlink, String(T0 - 2000));
        x.settings.pageSet(MORE_KEYS.googleLink, String(T0 - 1000));
      },
    });
    await h.settle();
    expect(h.relay.callsTo("DELETE /v1/me/google")).toHaveLength(0);
    expect(h.relay.callsTo("POST /v1/google/link")).toHaveLength(1);
    expect(h.settings.json(MORE_KEYS.googleStatus)).toMatchObject({ state: "open_url" });
  });

  it("when the wearer presses Forget me, then earlier presses are not replayed for the new identity", async () => {
    h = await startHarness();
    h.settings.pageSet(MORE_KEYS.googleLink, String(T0));
    await h.settle();
    h.settings.pageSet(KEYS.forgetMe, String(T0 + 1));
    await h.settle();
    expect(h.storage.getItem(STATE_KEYS.token)).toBeNull();
    expect(h.settings.getItem(MORE_KEYS.googleStatus)).toBeNull();
    h.me.wake();
    await h.settle();
    expect(h.relay.callsTo("POST /v1/google/link")).toHaveLength(1);
  });
});

describe("unlinking X from the settings page", () => {
  it("when the wearer presses Unlink X, then the relay gets DELETE /v1/me/x once and the page shows no account", async () => {
    h = await startHarness();
    h.relay.me.x = { linked: true, username: "runner" };
    h.settings.pageSet(MORE_KEYS.xUnlink, String(T0));
    await h.settle();
    expect(h.relay.callsTo("DELETE /v1/me/x")).toHaveLength(1);
    expect(h.settings.json(KEYS.xStatus)).toMatchObject({ state: "none" });
    expect(h.relay.me.x).toEqual({ linked: false });
    await h.restart();
    expect(h.relay.callsTo("DELETE /v1/me/x")).toHaveLength(1);
  });
});
