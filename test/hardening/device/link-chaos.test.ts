// The watch and the companion over a bad Bluetooth link (sim/world.ts): half of the messages lost,
// some overtaken by the next one, some delivered twice, each way, and the companion killed 20 times
// over the simulated day. Counted at the relay: every battery event the watch raised is recorded
// exactly once, and each alert is sent once.
import { describe, expect, it } from "vitest";
import { runSim } from "../../../sim/world.ts";
import { reportFigures, scale } from "../profile.ts";

const SEEDS = scale([11, 12], [11, 12, 13, 14, 15, 16, 17, 18]);
const KILLS = 20;

describe("battery events over a lossy, reordering, duplicating link", () => {
  it.each(SEEDS)(
    `when half of the link's messages are lost, a fifth arrive late and a fifth twice, and the companion is killed ${KILLS} times (seed %i), then every battery event reaches the relay exactly once`,
    async (seed) => {
      const r = await runSim({ seed, loss: 0.5, reorder: 0.2, duplicate: 0.2, kills: KILLS });
      const watchRecorded = r.recorded.filter((id) => !id.startsWith("ph-"));
      const recordedSet = new Set(r.recorded);
      const delivered = r.raised.filter((id) => recordedSet.has(id)).length;
      const smsPerEvent = new Map<string, number>();
      for (const e of r.recordedDetail) if (e.answer.action === "sms") smsPerEvent.set(e.id, 0);

      reportFigures(`link-chaos-seed-${seed}`, {
        seed,
        "message loss, reorder, duplicate": "50 %, 20 %, 20 %",
        "companion kills": r.kills,
        "events made (watch)": r.raised.length,
        "events delivered to the relay": delivered,
        "duplicates at the relay": r.duplicates,
        "re-posts absorbed by eventId": r.retriesAbsorbed,
        lost: r.lost,
        "messages over the link (to phone / to watch)": `${r.toPhone.messages} / ${r.toWatch.messages}`,
        "relay calls": r.relayCalls,
        "SMS sent": r.sms.length,
        "alerts decided": smsPerEvent.size,
      });

      expect(r.kills).toBe(KILLS);
      expect(r.raised.length).toBeGreaterThanOrEqual(4);
      expect(r.lost).toBe(0);
      expect([...watchRecorded].sort()).toEqual([...r.raised].sort());
      expect(new Set(r.recorded).size).toBe(r.recorded.length);
      expect(r.duplicates).toBe(0);
      expect(r.sms).toHaveLength(smsPerEvent.size);
      expect(new Set(r.sms.map((s) => s.body)).size).toBe(r.sms.length);
    },
    scale(120_000, 600_000),
  );
});
