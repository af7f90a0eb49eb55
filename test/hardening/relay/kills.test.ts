// The relay (a real process) is killed with SIGKILL at random moments (seeded) while wearers keep
// sending battery events and day summaries, and restarted on the same database each time. Clients
// retry a request whose connection died with the same eventId, as the companion does. Counted at the
// fake Twilio and the fake X: every accepted event yields exactly the SMS or the post the answer
// promised (the policy's decision), none twice, none lost.
import { afterEach, describe, expect, it } from "vitest";
import { lowBatteryText } from "../../../backend/src/domain/alert-text.ts";
import { postText } from "../../../backend/src/domain/summaries.ts";
import { openStore, type Store } from "../../../backend/src/store/open-store.ts";
import { createTestDatabase, DB_KINDS, type DbKind, type TestDatabase } from "../../helpers/db.ts";
import { startFakeTwilio, type FakeTwilio } from "../../helpers/fake-twilio.ts";
import { startFakeX, type FakeX } from "../../helpers/fake-x.ts";
import { killRelayProcess, startRelayProcess, type RelayProcess } from "../../helpers/relay-process.ts";
import {
  callUntilAnswered,
  compareCounts,
  freePort,
  linkXOver,
  newSecret,
  relayProcessEnv,
  seededRandom,
  setUpWearer,
  sleep,
  startChaosProxy,
  tally,
  type Fault,
  type RetryStats,
  type Wearer,
} from "../helpers/faults.ts";
import { reportFigures, scale } from "../profile.ts";

const KILLS = scale(3, 20);
const WEARERS = scale(4, 8);
/** after the last restart, the load goes on this long before it stops */
const TAIL_MS = 1_500;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  cleanup = [];
});

interface Load {
  stop: boolean;
  batteryAccepted: number;
  summariesAccepted: number;
  owedSms: string[];
  owedPosts: string[];
  stats: RetryStats;
}

const smsKey = (to: string, body: string) => `${to}|${body}`;
const isCode = (body: string | undefined) => /code/i.test(body ?? "");

/** One wearer's steady load: a battery reading every few ms, discharging and charging; a summary every fifth request (X-linked wearers). */
async function runWearer(url: string, w: Wearer, load: Load, random: () => number): Promise<void> {
  let last = 0;
  let seq = 0;
  let day = 0;
  while (!load.stop) {
    seq++;
    if (w.xLinked && seq % 5 === 0) {
      day++;
      const date = new Date(Date.now() - day * 86_400_000).toISOString().slice(0, 10);
      const activity = { steps: 1000 + w.index * 10_000 + day, distanceMeters: 800 + day, calories: 1900 };
      const sleepDay = { minutesAsleep: 100 + w.index + 10 * (day % 90) };
      const r = await callUntilAnswered<{ posts: { kind: "activity" | "sleep"; status: string }[] }>(url, "POST", "/v1/summaries", {
        token: w.token,
        json: { eventId: `sum-${w.index}-${day}`, date, activity, sleep: sleepDay },
        stats: load.stats,
        deadlineMs: 120_000,
      });
      expect(r.status).toBe(202);
      load.summariesAccepted++;
      for (const p of r.body.posts) if (p.status === "queued") load.owedPosts.push(postText(p.kind, date, p.kind === "activity" ? activity : sleepDay, "en-US")!);
    } else {
      // a discharge cycle dense in alerts: above the thresholds, under 20, under 10, then on the charger
      const step = seq % 4;
      const charging = step === 3;
      const reading = charging ? 60 : step === 0 ? 25 + Math.floor(random() * 6) : step === 1 ? 15 + Math.floor(random() * 6) : 6 + Math.floor(random() * 5);
      const observedAt = new Date(Math.max(Date.now(), last + 1));
      last = observedAt.getTime();
      const r = await callUntilAnswered<{ action: string }>(url, "POST", "/v1/battery", {
        token: w.token,
        json: { eventId: `bat-${w.index}-${seq}`, level: reading, charging, observedAt: observedAt.toISOString(), source: "watch" },
        stats: load.stats,
        deadlineMs: 120_000,
      });
      expect(r.status).toBe(202);
      load.batteryAccepted++;
      if (r.body.action === "sms") load.owedSms.push(smsKey(w.number, lowBatteryText("en-US", reading)));
    }
    // the full profile runs ten times longer; a gentler pace there keeps the owed messages within
    // what the relay sends while it is being killed (about 60/s with Twilio and X answering late)
    await sleep(scale(5, 15) + Math.floor(random() * scale(20, 50)));
  }
}

/** Waits until no delivery is queued or being sent; returns how many ended dead, with their reasons. */
async function settle(store: Store, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pending = await store.db.selectFrom("deliveries").select(["channel", "status", "attempts", "error", "next_attempt_at", "claimed_until"]).where("status", "in", ["queued", "sending"]).execute();
    if (pending.length === 0 || Date.now() > until) {
      const dead = await store.db.selectFrom("deliveries").select(["id", "error", "attempts"]).where("status", "=", "dead").execute();
      const detail = pending.map((d) => `${d.channel} ${d.status} after ${d.attempts} attempts (${d.error ?? "-"}), due ${d.next_attempt_at}, claimed until ${d.claimed_until ?? "-"}`);
      return { pending: pending.length, pendingDetail: detail, dead };
    }
    await sleep(200);
  }
}

describe.each(DB_KINDS)("relay killed with SIGKILL under load (%s)", (kind: DbKind) => {
  it(
    `when the relay process is killed ${KILLS} times at random moments and restarted on the same database, then every accepted event yields exactly the SMS or post the policy says, none twice and none lost`,
    async () => {
      const random = seededRandom(kind === "sqlite" ? 20261122 : 20261123);
      const db: TestDatabase = await createTestDatabase(kind);
      cleanup.push(() => db.drop());
      const twilio: FakeTwilio = await startFakeTwilio();
      cleanup.push(() => twilio.close());
      const x: FakeX = await startFakeX();
      cleanup.push(() => x.close());
      // every answer of Twilio and X comes back 0-400 ms late: the window in which a message is out
      // but not yet recorded, where a kill hurts most, is open most of the time
      const lag = seededRandom(kind === "sqlite" ? 7 : 8);
      const late = (): Fault => ({ kind: "late", ms: Math.floor(lag() * 400) });
      const twilioProxy = await startChaosProxy(twilio.url, (r) => (r.method === "POST" ? late() : undefined));
      cleanup.push(() => twilioProxy.close());
      const xProxy = await startChaosProxy(x.url, (r) => (r.path === "/2/tweets" ? late() : undefined));
      cleanup.push(() => xProxy.close());
      const port = await freePort();
      const env = relayProcessEnv({
        databaseUrl: db.url,
        port,
        twilio: { url: twilioProxy.url, accountSid: twilio.accountSid, authToken: twilio.authToken },
        x,
        xApiUrl: xProxy.url,
        secret: newSecret(),
      });
      const url = `http://127.0.0.1:${port}`;
      let relay: RelayProcess = await startRelayProcess(env);
      const processes = [relay];
      cleanup.push(async () => {
        await killRelayProcess(relay, "SIGTERM");
      });

      const wearers: Wearer[] = [];
      for (let i = 0; i < WEARERS; i++) wearers.push(await setUpWearer(url, twilio, i + (kind === "sqlite" ? 0 : 50)));
      for (const w of wearers.filter((_, i) => i % 2 === 0)) await linkXOver(url, w);

      const load: Load = { stop: false, batteryAccepted: 0, summariesAccepted: 0, owedSms: [], owedPosts: [], stats: { requests: 0, retries: 0 } };
      const loaders = wearers.map((w) => runWearer(url, w, load, seededRandom(w.index + 1)));
      const started = Date.now();
      const kills: { atMs: number; downMs: number }[] = [];
      try {
        for (let k = 0; k < KILLS; k++) {
          await sleep(scale(500, 1_000) + Math.floor(random() * scale(1_500, 3_000)));
          const killedAt = Date.now();
          await killRelayProcess(relay);
          relay = await startRelayProcess(env);
          processes.push(relay);
          kills.push({ atMs: killedAt - started, downMs: Date.now() - killedAt });
        }
        await sleep(TAIL_MS);
      } finally {
        load.stop = true;
        await Promise.allSettled(loaders);
      }
      await Promise.all(loaders);

      const store = await openStore(db.url, { migrate: false, poolSize: 1 });
      cleanup.push(() => store.close());
      // a delivery several kills hit waits out a longer backoff (up to about a minute after 7 attempts)
      const { pending, pendingDetail, dead } = await settle(store, scale(90_000, 180_000));
      await sleep(300); // the last outcome is written after the provider answered

      const arrivedSms = twilio.messages.filter((m) => !isCode(m.body) && wearers.some((w) => w.number === m.to)).map((m) => smsKey(m.to, m.body ?? ""));
      const sms = compareCounts(tally(load.owedSms), tally(arrivedSms));
      const posts = compareCounts(tally(load.owedPosts), tally(x.tweets.map((t) => t.text)));
      const postCalls = x.requests.filter((r) => r.method === "POST" && r.path === "/2/tweets").length;

      // when a duplicate SMS went out: its copies' arrival, and the kill just before the second
      const dupDetail = sms.duplicateKeys.map((k) => {
        const copies = twilio.messages.filter((m) => smsKey(m.to, m.body ?? "") === k).map((m) => m.receivedAt.getTime() - started);
        const before = kills.filter((kl) => kl.atMs <= copies[copies.length - 1]!).pop();
        return `copies at ${copies.map((c) => `${c} ms`).join(", ")}; last kill before at ${before?.atMs ?? "-"} ms`;
      });

      reportFigures(`kills-${kind}`, {
        database: kind,
        kills: kills.length,
        "time down per kill, ms (median)": kills.map((k) => k.downMs).sort((a, b) => a - b)[Math.floor(kills.length / 2)] ?? 0,
        wearers: wearers.length,
        "battery events accepted": load.batteryAccepted,
        "summaries accepted": load.summariesAccepted,
        "client requests (retries)": `${load.stats.requests} (${load.stats.retries})`,
        "SMS expected": load.owedSms.length,
        "SMS sent": arrivedSms.length,
        "SMS duplicates": sms.duplicates,
        "SMS lost": sms.lost,
        "posts expected": load.owedPosts.length,
        "posts sent": x.tweets.length,
        "post calls to X": postCalls,
        "posts duplicates": posts.duplicates,
        "posts lost": posts.lost,
        "SMS recovered by the Twilio lookup": processes.reduce((n, p) => n + (p.stderr().match(/already sent by an earlier attempt/g)?.length ?? 0), 0),
        "deliveries dead-lettered": dead.length,
        "deliveries still pending": pending,
        "pending detail": (pendingDetail.length > 5 ? [...pendingDetail.slice(0, 5), `and ${pendingDetail.length - 5} more`] : pendingDetail).join(" | ") || "none",
        "duplicate detail": dupDetail.join(" | ") || "none",
      });

      expect(kills).toHaveLength(KILLS);
      expect(load.owedSms.length).toBeGreaterThan(KILLS);
      expect(load.owedPosts.length).toBeGreaterThan(0);
      expect(pending).toBe(0);
      expect(dead).toEqual([]);
      expect({ lost: sms.lost, unexpected: sms.unexpected, lostKeys: sms.lostKeys }).toEqual({ lost: 0, unexpected: 0, lostKeys: [] });
      expect({ duplicates: sms.duplicates, when: dupDetail }).toEqual({ duplicates: 0, when: [] });
      expect({ lost: posts.lost, duplicates: posts.duplicates, unexpected: posts.unexpected }).toEqual({ lost: 0, duplicates: 0, unexpected: 0 });
      expect(twilio.specViolations).toEqual([]);
    },
  );
});
