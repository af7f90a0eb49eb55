import { describe, expect, it } from "vitest";
import { createOutbox, OutboxEntry } from "../../common/outbox";
import { createSeenIds } from "../../common/seen-ids";

function storage() {
  let saved: OutboxEntry<string>[] | null = null;
  let saves = 0;
  return {
    load: () => saved,
    save: (e: OutboxEntry<string>[]) => {
      saved = JSON.parse(JSON.stringify(e));
      saves++;
    },
    saves: () => saves,
  };
}

describe("outbox", () => {
  it("when messages are queued and one is acknowledged, then only the other stays", () => {
    let now = 0;
    const ob = createOutbox<string>({ ...storage(), now: () => now, max: 4, maxAgeMs: 1000 });
    ob.put("a", "A");
    ob.put("b", "B");
    expect(ob.ack(["a", "zzz"])).toBe(1);
    expect(ob.pending().map((e) => e.msg)).toEqual(["B"]);
  });

  it("when the same id is queued twice, then it is kept once", () => {
    const ob = createOutbox<string>({ ...storage(), now: () => 0, max: 4, maxAgeMs: 1000 });
    ob.put("a", "A");
    ob.put("a", "A2");
    expect(ob.pending().map((e) => e.msg)).toEqual(["A2"]);
  });

  it("when more than max are queued, then the oldest are dropped", () => {
    const ob = createOutbox<string>({ ...storage(), now: () => 0, max: 3, maxAgeMs: 1000 });
    for (const id of ["a", "b", "c", "d", "e"]) ob.put(id, id);
    expect(ob.pending().map((e) => e.id)).toEqual(["c", "d", "e"]);
  });

  it("when a message is older than maxAge, then it expires", () => {
    let now = 0;
    const ob = createOutbox<string>({ ...storage(), now: () => now, max: 5, maxAgeMs: 1000 });
    ob.put("old", "x");
    now = 600;
    ob.put("new", "y");
    now = 1200;
    expect(ob.pending().map((e) => e.id)).toEqual(["new"]);
  });

  it("when the outbox is created again on the same storage, then it keeps its messages", () => {
    const s = storage();
    createOutbox<string>({ ...s, now: () => 0, max: 5, maxAgeMs: 1000 }).put("a", "A");
    const again = createOutbox<string>({ ...s, now: () => 10, max: 5, maxAgeMs: 1000 });
    expect(again.pending().map((e) => e.msg)).toEqual(["A"]);
  });

  it("when storage holds garbage or throws, then the outbox starts empty", () => {
    expect(createOutbox<string>({ load: () => ({ nope: 1 }) as never, save: () => {}, now: () => 0, max: 5, maxAgeMs: 1000 }).size()).toBe(0);
    const throwing = () => {
      throw new Error("corrupt");
    };
    expect(createOutbox<string>({ load: throwing, save: () => {}, now: () => 0, max: 5, maxAgeMs: 1000 }).size()).toBe(0);
  });

  it("when nothing changed, then pending() does not write", () => {
    const s = storage();
    const ob = createOutbox<string>({ ...s, now: () => 0, max: 5, maxAgeMs: 1000 });
    ob.put("a", "A");
    const before = s.saves();
    ob.pending();
    ob.ack(["unknown"]);
    expect(s.saves()).toBe(before);
  });
});

describe("seen ids", () => {
  it("when an id comes twice, then only the first is new", () => {
    const seen = createSeenIds({ max: 3 });
    expect([seen.firstTime("a"), seen.firstTime("a"), seen.firstTime("b")]).toEqual([true, false, true]);
  });

  it("when more than max ids were seen, then the oldest is forgotten", () => {
    const seen = createSeenIds({ max: 2 });
    seen.firstTime("a");
    seen.firstTime("b");
    seen.firstTime("c");
    expect([seen.has("a"), seen.has("b"), seen.has("c")]).toEqual([false, true, true]);
  });

  it("when reloaded from storage, then repeats are still recognised", () => {
    let stored: string[] = [];
    createSeenIds({ max: 5, save: (ids) => (stored = ids) }).firstTime("x");
    expect(createSeenIds({ max: 5, load: () => stored }).firstTime("x")).toBe(false);
  });
});
