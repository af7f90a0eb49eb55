// The only place that talks HTTP to the relay: timeouts, bearer token, problem+json errors as values.
import { Clock, FetchFn } from "./host";

export type RelayOk<T> = { ok: true; status: number; body: T };
export type RelayErr = {
  ok: false;
  /** 0 when the relay was not reached (network error or timeout) */
  status: number;
  /** the relay's problem `code`, or `timeout` / `network` / `http_<status>` */
  code: string;
  detail?: string;
  /** worth retrying later with the same request */
  transient: boolean;
};
export type RelayResult<T> = RelayOk<T> | RelayErr;

declare const AbortController: { new (): { signal: unknown; abort(): void } } | undefined;

export interface RelayClientDeps {
  fetch: FetchFn;
  clock: Clock;
  baseUrl(): string;
  token(): string | null;
  timeoutMs?: number;
  /** told about every answer (for diagnostics); `reached` false when the relay was not reached */
  onCall?(method: string, path: string, status: number): void;
}

export interface RelayClient {
  call<T>(method: string, path: string, body?: unknown, auth?: boolean): Promise<RelayResult<T>>;
}

/** Status codes worth retrying: not reached, timeouts, throttling, server trouble. */
export function isTransientStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

export function createRelayClient(deps: RelayClientDeps): RelayClient {
  const timeoutMs = deps.timeoutMs || 15000;
  function call<T>(method: string, path: string, body?: unknown, auth?: boolean): Promise<RelayResult<T>> {
    const headers: { [k: string]: string } = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const token = deps.token();
    if (auth !== false && token) headers.authorization = "Bearer " + token;
    const ctl = typeof AbortController !== "undefined" ? new AbortController() : null;
    let timer: unknown = null;
    const timeout = new Promise<RelayErr>((resolve) => {
      timer = deps.clock.setTimeout(() => {
        if (ctl) ctl.abort();
        resolve({ ok: false, status: 0, code: "timeout", transient: true });
      }, timeoutMs);
    });
    let request: Promise<RelayResult<T>>;
    try {
      request = deps
        .fetch(deps.baseUrl() + path, {
          method: method,
          headers: headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: ctl ? ctl.signal : undefined,
        })
        .then((res) => res.text().then((text) => toResult<T>(res.status, text)))
        .then(
          (r) => r,
          (): RelayErr => ({ ok: false, status: 0, code: "network", transient: true }),
        );
    } catch (e) {
      request = Promise.resolve<RelayErr>({ ok: false, status: 0, code: "network", transient: true });
    }
    return Promise.race([request, timeout]).then((r) => {
      deps.clock.clearTimeout(timer);
      if (deps.onCall) deps.onCall(method, path, r.status);
      return r;
    });
  }
  return { call: call };
}

function toResult<T>(status: number, text: string): RelayResult<T> {
  let json: any = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch (e) {
      json = undefined;
    }
  }
  if (status >= 200 && status < 300) return { ok: true, status: status, body: json as T };
  const code = json && typeof json.code === "string" ? json.code : "http_" + status;
  const detail = json && typeof json.detail === "string" ? json.detail.slice(0, 300) : undefined;
  return { ok: false, status: status, code: code, detail: detail, transient: isTransientStatus(status) };
}
