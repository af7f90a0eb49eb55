// The relay's operations as its served /openapi.json lists them (read at run time, so a new route is
// covered without touching the tests), and sample values built from their schemas.
export type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  example?: unknown;
  examples?: unknown[];
  nullable?: boolean;
};

export interface Operation {
  method: string;
  /** as in the document, e.g. /admin/deliveries/{id}/retry */
  path: string;
  auth: "bearer" | "twilio" | "none";
  params: { name: string; in: "query" | "path" | "header" | "cookie"; schema?: Schema }[];
  /** request body media type and schema, when it has one */
  body?: { type: string; schema: Schema };
}

export interface OpenApi {
  paths: Record<string, Record<string, any>>;
  components?: { schemas?: Record<string, Schema> };
  security?: Record<string, unknown>[];
}

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

export async function loadOperations(relayUrl: string): Promise<{ doc: OpenApi; ops: Operation[] }> {
  const res = await fetch(relayUrl + "/openapi.json");
  if (res.status !== 200) throw new Error(`/openapi.json: ${res.status}`);
  const doc = (await res.json()) as OpenApi;
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(item)) {
      if (!METHODS.has(m)) continue;
      const security = (op.security ?? doc.security ?? []) as Record<string, unknown>[];
      const names = security.flatMap((s) => Object.keys(s));
      const auth = names.includes("bearer") ? "bearer" : names.includes("twilioSignature") ? "twilio" : "none";
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => resolve(doc, p)) as Operation["params"];
      const content = op.requestBody?.content as Record<string, { schema?: Schema }> | undefined;
      const type = content ? Object.keys(content)[0] : undefined;
      ops.push({ method: m.toUpperCase(), path, auth, params, body: type ? { type, schema: resolve(doc, content![type]!.schema ?? {}) } : undefined });
    }
  }
  return { doc, ops };
}

function resolve<T>(doc: OpenApi, s: T): T {
  const ref = (s as { $ref?: string })?.$ref;
  if (!ref) return s;
  const parts = ref.replace(/^#\//, "").split("/");
  let cur: any = doc;
  for (const p of parts) cur = cur?.[p];
  return resolve(doc, cur as T);
}

/** A value that satisfies the schema (as far as the document says), with values by property name taken from `by`. */
export function sample(doc: OpenApi, schema: Schema | undefined, by: Record<string, unknown> = {}, name?: string): unknown {
  const s = resolve(doc, schema ?? {});
  if (name !== undefined && name in by) return by[name];
  if (s.const !== undefined) return s.const;
  if (s.example !== undefined) return s.example;
  if (s.enum?.length) return s.enum[0];
  const alt = s.oneOf ?? s.anyOf;
  if (alt?.length) return sample(doc, alt[0], by, name);
  if (s.allOf?.length) return Object.assign({}, ...s.allOf.map((x) => sample(doc, x, by, name) as object));
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type ?? (s.properties ? "object" : undefined)) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) out[k] = sample(doc, v, by, k);
      return out;
    }
    case "array":
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, (_, i) => {
        const v = sample(doc, s.items, by);
        return typeof v === "number" ? v - i : v;
      });
    case "integer":
    case "number":
      return s.minimum !== undefined ? Math.max(s.minimum, Math.min(s.maximum ?? s.minimum + 5, s.minimum + 5)) : 1;
    case "boolean":
      return false;
    case "string":
      if (s.format === "date") return "2026-11-19";
      if (s.format === "date-time") return "2026-11-20T12:00:00.000Z";
      if (s.pattern === "^[A-Za-z0-9_-]{1,64}$") return "ev-sample-1";
      return "x".repeat(Math.max(1, s.minLength ?? 1));
    default:
      return "x";
  }
}

/** The path with its {params} filled from `by` (or "x"). */
export function fillPath(path: string, by: Record<string, unknown>): string {
  return path.replace(/\{([^}]+)\}/g, (_m, k: string) => encodeURIComponent(String(by[k] ?? "x")));
}
