import { beforeEach, describe, expect, it } from "vitest";
import { __open, __close, __reset, __runAs, createSocketPair, peerSocket } from "messaging";
import { documentFake } from "../helpers/watch-harness";

describe("the messaging fake (used by the watch+companion simulation)", () => {
  beforeEach(() => __reset());

  it("when the watch and the companion both use peerSocket, then each talks to the other end", async () => {
    const watchGot: unknown[] = [];
    const phoneGot: unknown[] = [];
    peerSocket.addEventListener("message", (e: { data: unknown }) => watchGot.push(e.data));
    __runAs("companion", () =>
      peerSocket.addEventListener("message", (e: { data: any }) => {
        phoneGot.push(e.data);
        // a reply from a later turn still leaves from the companion's end
        setTimeout(() => peerSocket.send({ re: e.data.n }), 0);
      }),
    );
    __open();
    peerSocket.send({ n: 1 });
    await new Promise((r) => setTimeout(r, 5));
    expect(phoneGot).toEqual([{ n: 1 }]);
    expect(watchGot).toEqual([{ re: 1 }]);
  });

  it("when the link is closed, then send throws and readyState says CLOSED", () => {
    expect(peerSocket.readyState).toBe(peerSocket.CLOSED);
    expect(() => peerSocket.send({})).toThrow();
    __open();
    __close();
    expect(peerSocket.readyState).toBe(peerSocket.CLOSED);
  });

  it("when a pair is made, then a send from a handler is delivered after the handler returns", () => {
    const pair = createSocketPair();
    const order: string[] = [];
    pair.companion.addEventListener("message", () => {
      pair.companion.send("ack");
      order.push("companion handled");
    });
    pair.device.addEventListener("message", () => order.push("device got ack"));
    pair.open();
    pair.device.send("hello");
    expect(order).toEqual(["companion handled", "device got ack"]);
    expect(pair.log.map((r) => r.from)).toEqual(["device", "companion"]);
  });
});

describe("the document fake", () => {
  it("when an id is not in index.view, then getElementById returns null as on the watch", () => {
    expect(documentFake.default.getElementById("no-such-id")).toBeNull();
    expect(documentFake.default.getElementById("time")).not.toBeNull();
  });
});
