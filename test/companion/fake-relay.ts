// A tiny real HTTP relay on 127.0.0.1:0 for companion unit tests: the contract's paths and answers,
// dedupe by eventId, a programmable failure queue, and a record of every call.
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";

export interface Call {
  method: string;
  path: string;
  auth: string | null;
  body: any;
  status: number;
}

export interface FakeRelay {
  url: string;
  calls: Call[];
  /** calls to a path (method + " " + path, e.g. "POST /v1/battery") */
  callsTo(route: string): Call[];
  /** the next answers to a route, in order, before the normal behaviour resumes */
  failNext(route: string, ...answers: { status: number; code?: string; delayMs?: number }[]): void;
  /** forgets every token: the next authenticated call gets 401 */
  revokeTokens(): void;
  /** battery events recorded (first time per eventId) */
  battery: any[];
  summaries: any[];
  /** what GET /v1/deliveries lists, newest first (tests set statuses as the relay's worker would) */
  deliveries: { id: string; channel: string; kind: string; status: string; createdAt: string; sentAt?: string; eventId?: string }[];
  /** what POST /v1/battery answers (default: sms for a low level) */
  batteryAnswer: (body: any) => { action: string; reason?: string };
  /** what GET /v1/me says about phone, X and Google Health */
  me: {
    phone: { masked: string; verified: boolean; optedOut: boolean } | null;
    x: { linked: boolean; username?: string };
    google: { linked: boolean; status?: "linked" | "broken"; granted?: { activity: boolean; sleep: boolean; settings: boolean } };
  };
  close(): Promise<void>;
}

export async function startFakeRelay(): Promise<FakeRelay> {
  const tokens = new Set<string>();
  const failures = new Map<string, { status: number; code?: string; delayMs?: number }[]>();
  const answers = new Map<string, { status: number; body: any }>();
  let n = 0;
  const relay: FakeRelay = {
    url: "",
    calls: [],
    callsTo: (route) => relay.calls.filter((c) => c.method + " " + c.path === route),
    failNext(route, ...a) {
      failures.set(route, (failures.get(route) || []).concat(a));
    },
    revokeTokens: () => tokens.clear(),
    battery: [],
    summaries: [],
    deliveries: [],
    me: { phone: null, x: { linked: false }, google: { linked: false } },
    batteryAnswer: (b) => (b.level <= 20 && !b.charging ? { action: "sms" } : { action: "none", reason: "above_threshold" }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };

  function send(res: ServerResponse, status: number, body?: unknown, problem?: boolean): void {
    res.statusCode = status;
    if (body === undefined) return void res.end();
    res.setHeader("content-type", problem ? "application/problem+json" : "application/json");
    res.end(JSON.stringify(body));
  }
  function problem(res: ServerResponse, status: number, code: string): void {
    send(res, status, { type: "about:blank", title: code, status, detail: "fake " + code, code }, true);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<number> {
    const path = (req.url || "").split("?")[0];
    const route = req.method + " " + path;
    const queued = failures.get(route);
    if (queued && queued.length) {
      const f = queued.shift()!;
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      problem(res, f.status, f.code || "http_" + f.status);
      return f.status;
    }
    let body: any = undefined;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      problem(res, 400, "invalid_json");
      return 400;
    }
    if (route === "POST /v1/devices") {
      const token = "tok" + ++n;
      tokens.add(token);
      send(res, 201, { deviceId: "dev" + n, token });
      return 201;
    }
    const auth = req.headers.authorization || "";
    if (!tokens.has(auth.replace(/^Bearer /, ""))) {
      problem(res, 401, "unauthorized");
      return 401;
    }
    const eventKey = body && body.eventId ? path + ":" + body.eventId : null;
    if (eventKey && answers.has(eventKey)) {
      const a = answers.get(eventKey)!;
      send(res, a.status, a.body);
      return a.status;
    }
    switch (route) {
      case "POST /v1/battery": {
        if (!(body.level >= 0 && body.level <= 100)) return problem(res, 422, "invalid_body"), 422;
        relay.battery.push(body);
        const a = { status: 202, body: { eventId: body.eventId, ...relay.batteryAnswer(body) } };
        answers.set(eventKey!, a);
        send(res, a.status, a.body);
        return 202;
      }
      case "POST /v1/summaries": {
        relay.summaries.push(body);
        const a = { status: 202, body: { date: body.date, posts: [] } };
        answers.set(eventKey!, a);
        send(res, 202, a.body);
        return 202;
      }
      case "PATCH /v1/me":
      case "GET /v1/me":
        send(res, 200, { deviceId: "dev", timezone: "UTC", language: "en-US", phone: relay.me.phone, x: relay.me.x, google: relay.me.google, preferences: {} });
        return 200;
      case "PUT /v1/me/phone":
        if (!/^\+?\d{6,15}$/.test(String(body && body.number))) return problem(res, 422, "invalid_phone"), 422;
        send(res, 202, { masked: "+1•••••••67", verified: false });
        return 202;
      case "POST /v1/me/phone/verify":
        if (body.code !== "123456") return problem(res, 422, "wrong_code"), 422;
        send(res, 200, { masked: "+1•••••••67", verified: true });
        return 200;
      case "GET /v1/deliveries":
        send(res, 200, relay.deliveries);
        return 200;
      case "POST /v1/heartbeat":
        send(res, 204);
        return 204;
      case "POST /v1/x/link":
        send(res, 200, { url: "https://x.example/authorize?state=abc" });
        return 200;
      case "DELETE /v1/me/x":
        relay.me.x = { linked: false };
        send(res, 204);
        return 204;
      case "POST /v1/google/link":
        send(res, 200, { url: "https://relay.example/google/start?flow=abc" });
        return 200;
      case "DELETE /v1/me/google":
        relay.me.google = { linked: false };
        send(res, 204);
        return 204;
      case "DELETE /v1/me":
        tokens.delete(auth.replace(/^Bearer /, ""));
        send(res, 204);
        return 204;
      default:
        problem(res, 404, "not_found");
        return 404;
    }
  }

  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const path = (req.url || "").split("?")[0];
      let body: any;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const call: Call = { method: req.method || "", path, auth: req.headers.authorization || null, body, status: 0 };
      relay.calls.push(call);
      handle(req, res, raw).then((s) => (call.status = s));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  relay.url = "http://127.0.0.1:" + (server.address() as AddressInfo).port;
  return relay;
}
