// Fake "messaging", shared by the watch and the companion (the API is the same on both sides).
// createSocketPair() makes two linked ends. The module's `peerSocket` belongs to whichever side is
// running: the watch by default, the companion inside __runAs("companion", fn) and in everything
// called back from its end (AsyncLocalStorage follows promises and timers), so one process can run
// both. Delivery is synchronous but never re-entrant: a send from inside a handler is delivered
// after that handler returns. Data is copied as CBOR would (a JSON round trip).
// Test API: createSocketPair, __peer, __open, __close, __runAs, __link, __setMaxMessageSize, __reset.
import { AsyncLocalStorage } from "node:async_hooks";
import { makeTarget } from "../../helpers/watch-events";

export type Side = "device" | "companion";
const OPEN = 1;
const CLOSED = 3;

export interface FakeSocket {
  readonly OPEN: number;
  readonly CLOSED: number;
  readonly readyState: number;
  readonly MAX_MESSAGE_SIZE: number;
  readonly bufferedAmount: number;
  send(data: unknown): void;
  addEventListener(name: string, fn: (evt: any) => void): void;
  removeEventListener(name: string, fn: (evt: any) => void): void;
  onopen?: ((e: any) => void) | null;
  onclose?: ((e: any) => void) | null;
  onmessage?: ((e: any) => void) | null;
  onerror?: ((e: any) => void) | null;
  onbufferedamountdecrease?: ((e: any) => void) | null;
}

export interface SentRecord {
  from: Side;
  data: any;
  /** JSON length: an upper bound of the CBOR bytes */
  bytes: number;
}

export interface SocketPair {
  device: FakeSocket;
  companion: FakeSocket;
  open(): void;
  close(): void;
  isOpen(): boolean;
  /** everything handed to send() while open, both directions, in order */
  log: SentRecord[];
  setMaxMessageSize(n: number): void;
}

const als = new AsyncLocalStorage<Side>();

export function createSocketPair(): SocketPair {
  let open = false;
  let maxSize = 1027;
  const queue: { to: Side; data: any }[] = [];
  let delivering = false;
  const log: SentRecord[] = [];
  const ends: { [s in Side]: FakeSocket & { __emit: (n: string, e?: any) => void; __clear: () => void } } = {} as never;

  function dispatch(side: Side, name: string, evt?: any): void {
    als.run(side, () => ends[side].__emit(name, evt));
  }
  function pump(): void {
    if (delivering) return;
    delivering = true;
    try {
      while (queue.length) {
        const m = queue.shift()!;
        if (!open) continue; // lost with the link
        dispatch(m.to, "message", { data: m.data });
      }
    } finally {
      delivering = false;
    }
  }
  function makeEnd(side: Side): FakeSocket & { __emit: (n: string, e?: any) => void; __clear: () => void } {
    const other: Side = side === "device" ? "companion" : "device";
    const end = makeTarget({
      OPEN,
      CLOSED,
      get readyState() {
        return open ? OPEN : CLOSED;
      },
      get MAX_MESSAGE_SIZE() {
        return maxSize;
      },
      bufferedAmount: 0,
      send(data: unknown): void {
        if (!open) throw new Error("Socket is closed");
        const json = JSON.stringify(data);
        if (json === undefined) throw new TypeError("Cannot send undefined");
        if (json.length > maxSize) throw new Error("Message too large");
        log.push({ from: side, data: JSON.parse(json), bytes: json.length });
        queue.push({ to: other, data: JSON.parse(json) });
        pump();
      },
    });
    return end as never;
  }
  ends.device = makeEnd("device");
  ends.companion = makeEnd("companion");
  return {
    device: ends.device,
    companion: ends.companion,
    log,
    isOpen: () => open,
    open(): void {
      if (open) return;
      open = true;
      dispatch("device", "open");
      dispatch("companion", "open");
      pump();
    },
    close(): void {
      if (!open) return;
      open = false;
      queue.length = 0;
      const evt = { code: 1, wasClean: false, reason: "CONNECTION_LOST" };
      dispatch("device", "close", evt);
      dispatch("companion", "close", evt);
    },
    setMaxMessageSize(n: number): void {
      maxSize = n;
    },
  };
}

let pair = createSocketPair();

function current(): FakeSocket {
  return als.getStore() === "companion" ? pair.companion : pair.device;
}

/** The module's socket: the end of the side that is running. */
export const peerSocket: FakeSocket = {
  get OPEN() {
    return OPEN;
  },
  get CLOSED() {
    return CLOSED;
  },
  get readyState() {
    return current().readyState;
  },
  get MAX_MESSAGE_SIZE() {
    return current().MAX_MESSAGE_SIZE;
  },
  get bufferedAmount() {
    return current().bufferedAmount;
  },
  send: (data) => current().send(data),
  addEventListener: (n, fn) => current().addEventListener(n, fn),
  removeEventListener: (n, fn) => current().removeEventListener(n, fn),
};
for (const name of ["open", "close", "message", "error", "bufferedamountdecrease"]) {
  Object.defineProperty(peerSocket, "on" + name, {
    get: () => (current() as any)["on" + name],
    set: (fn) => {
      (current() as any)["on" + name] = fn;
    },
  });
}

/** The companion's end of the default pair, for a test playing the phone. */
export function __peer(): FakeSocket {
  return pair.companion;
}
export function __link(): SocketPair {
  return pair;
}
export function __open(): void {
  pair.open();
}
export function __close(): void {
  pair.close();
}
export function __runAs<T>(side: Side, fn: () => T): T {
  return als.run(side, fn);
}
export function __setMaxMessageSize(n: number): void {
  pair.setMaxMessageSize(n);
}
/** A fresh, closed link with no listeners on either end. */
export function __reset(): void {
  pair = createSocketPair();
}
