// Errors are values with a stable code; the one error handler in app.ts turns them into problem+json.
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: { retryAfterSec?: number; errors?: unknown[] } = {},
  ) {
    super(detail);
    this.name = "Problem";
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function problemBody(p: Problem, instance?: string) {
  return {
    type: `https://wristrelay.dev/problems/${p.code.replace(/_/g, "-")}`,
    title: TITLES[p.status] ?? "Error",
    status: p.status,
    detail: p.detail,
    code: p.code,
    ...(instance ? { instance } : {}),
    ...(p.extra.errors ? { errors: p.extra.errors } : {}),
  };
}
