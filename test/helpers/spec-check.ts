// Checks a request that reached a fake server against an official OpenAPI 3.0 document (Twilio,
// X, ...), so a fake can tell "the adapter sent something the real API would refuse" apart from
// "the fake's own rules said no". Generic on purpose: nothing here knows Twilio or X.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsImport from "ajv-formats";

// ajv-formats is CommonJS with `exports.default`; depending on the loader the default import is
// the function itself or the module object.
const addFormats = ((addFormatsImport as unknown as { default?: unknown }).default ?? addFormatsImport) as (ajv: Ajv) => Ajv;

/** Where ../shared/specs lives; override with WRISTRELAY_SPECS_DIR when running from elsewhere. */
export function specsDir(): string {
  return process.env.WRISTRELAY_SPECS_DIR ?? resolve(process.cwd(), "..", "shared", "specs");
}

type Json = Record<string, unknown>;
type Headers = Record<string, string | string[] | undefined>;

export interface SpecOperation {
  method: string;
  /** the path template as written in the spec, e.g. /2010-04-01/Accounts/{AccountSid}/Messages.json */
  pathTemplate: string;
  operationId?: string;
  /** path parameters taken from the request path (decoded) */
  pathParams: Record<string, string>;
}

export interface CheckOptions {
  /**
   * "spec" (default): a body field the schema does not list is an error only where the spec says
   * `additionalProperties: false`. "reject": any field the schema does not list is an error
   * (catches typos such as `Statuscallback` that the real service would silently ignore).
   */
  unknownFields?: "spec" | "reject";
}

export interface SpecRequest {
  method: string;
  /** path with optional query string, e.g. /2/tweets or /x.json?PageSize=5 */
  path: string;
  headers?: Headers;
  /**
   * The body as parsed for its content type (see parseBody): for form-urlencoded a record of
   * string or string[] values, for JSON the parsed value; undefined when the request had none.
   */
  body?: unknown;
}

interface Route {
  template: string;
  regex: RegExp;
  names: string[];
  literalLength: number;
  item: Json;
}

export interface OpenApiIndex {
  readonly doc: Json;
  readonly id: string;
  readonly basePath: string;
  readonly routes: Route[];
  readonly ajv: Ajv;
  readonly formAjv: Ajv;
  readonly compiled: Map<string, ValidateFunction>;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const byFile = new Map<string, OpenApiIndex>();
const byDoc = new WeakMap<object, OpenApiIndex>();
let nextId = 0;

/** Loads and indexes a spec file once per process (the Twilio one is 1.8 MB). Relative names resolve in specsDir(). */
export function loadSpec(file: string): OpenApiIndex {
  const full = resolve(specsDir(), file);
  let idx = byFile.get(full);
  if (!idx) {
    idx = indexSpec(JSON.parse(readFileSync(full, "utf8")) as Json);
    byFile.set(full, idx);
  }
  return idx;
}

/** Indexes an already parsed OpenAPI 3.0 document (cached per object). */
export function indexSpec(doc: Json): OpenApiIndex {
  const cached = byDoc.get(doc);
  if (cached) return cached;
  if (typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.")) throw new Error("spec-check: not an OpenAPI 3 document");
  const id = `openapi-doc-${nextId++}`;
  const routes: Route[] = [];
  for (const [template, item] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    const names: string[] = [];
    const pattern = template
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const m = /^\{([^}]+)\}$/.exec(part);
        if (m) {
          names.push(m[1]!);
          return "([^/]+)";
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("");
    routes.push({ template, regex: new RegExp(`^${pattern}$`), names, literalLength: template.replace(/\{[^}]+\}/g, "").length, item });
  }
  // the most literal template wins when two match (/Messages/Feedback.json before /Messages/{Sid}.json)
  routes.sort((a, b) => b.literalLength - a.literalLength);

  const servers = (doc.servers ?? []) as { url: string }[];
  let basePath = "";
  try {
    if (servers[0]) basePath = new URL(servers[0].url, "http://x").pathname.replace(/\/$/, "");
  } catch {
    basePath = "";
  }

  const makeAjv = (coerce: boolean): Ajv => {
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, coerceTypes: coerce ? "array" : false, discriminator: false });
    addFormats(ajv);
    // vendor formats (Twilio's phone-number, uri-map, date-time-rfc-2822, ...) are annotations here
    ajv.addFormat("date-time-rfc-2822", { type: "string", validate: (s: string) => !Number.isNaN(Date.parse(s)) });
    for (const f of collectFormats(doc)) if (!ajv.formats[f]) ajv.addFormat(f, true);
    ajv.addSchema({ $id: id, components: { schemas: convertAll((doc.components as Json | undefined)?.schemas as Json | undefined, id) } });
    return ajv;
  };
  const idx: OpenApiIndex = { doc, id, basePath, routes, ajv: makeAjv(false), formAjv: makeAjv(true), compiled: new Map() };
  byDoc.set(doc, idx);
  return idx;
}

/** Parses a raw body the way a server would for the content type; form fields repeat into arrays. */
export function parseBody(contentType: string | undefined, raw: string | Buffer): unknown {
  const text = typeof raw === "string" ? raw : raw.toString("utf8");
  if (text.length === 0) return undefined;
  const media = mediaType(contentType);
  if (media === "application/x-www-form-urlencoded") {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return out;
  }
  if (media === "application/json" || media.endsWith("+json")) return JSON.parse(text);
  return text;
}

/** Finds the operation a method and path address; undefined when the spec has no such path or method. */
export function findOperation(spec: OpenApiIndex, method: string, path: string): SpecOperation | undefined {
  const found = match(spec, method, path);
  if (!found || !found.op) return undefined;
  return { method: method.toUpperCase(), pathTemplate: found.route.template, operationId: found.op.operationId as string | undefined, pathParams: found.params };
}

/** Every way the request differs from what the spec allows; an empty list means it conforms. */
export function checkRequest(spec: OpenApiIndex, req: SpecRequest, opts: CheckOptions = {}): string[] {
  const v: string[] = [];
  const method = req.method.toLowerCase();
  const url = new URL(req.path, "http://spec.invalid");
  const found = match(spec, method, url.pathname);
  const where = `${req.method.toUpperCase()} ${url.pathname}`;
  if (!found) return [`${where}: no path in the spec matches`];
  if (!found.op) return [`${where}: the spec has no ${req.method.toUpperCase()} for ${found.route.template}`];
  const { route, op, params: pathParams } = found;
  const headers = lowerHeaders(req.headers ?? {});

  // parameters: path-level ones, overridden by operation-level ones with the same name and place
  const params = new Map<string, Json>();
  for (const p of [...((route.item.parameters ?? []) as Json[]), ...((op.parameters ?? []) as Json[])]) {
    const param = deref(spec, p);
    params.set(`${param.in}:${param.name}`, param);
  }
  for (const param of params.values()) {
    const name = String(param.name);
    let value: unknown;
    if (param.in === "path") value = pathParams[name];
    else if (param.in === "query") {
      const all = url.searchParams.getAll(name);
      value = all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
    } else if (param.in === "header") value = headers[name.toLowerCase()];
    else continue; // cookies: none of our fakes use them
    if (value === undefined) {
      if (param.required) v.push(`${where}: missing required ${param.in} parameter ${name}`);
      continue;
    }
    if (param.schema) {
      const validate = compile(spec, `param:${route.template}:${method}:${param.in}:${name}`, param.schema as Json, true, "spec");
      if (!validate(value)) v.push(...formatErrors(validate.errors, `${param.in} parameter ${name}`, where));
    }
  }

  v.push(...checkSecurity(spec, op, headers, url, where));

  // body
  const body = op.requestBody ? deref(spec, op.requestBody as Json) : undefined;
  const hasBody = req.body !== undefined && req.body !== "";
  const contentType = headers["content-type"];
  if (!body) {
    if (hasBody) v.push(`${where}: the operation takes no request body, but one was sent`);
    return v;
  }
  if (!hasBody) {
    if (body.required) v.push(`${where}: request body is required`);
    return v;
  }
  const content = (body.content ?? {}) as Record<string, Json>;
  const media = mediaType(contentType);
  const key = Object.keys(content).find((k) => mediaMatches(k, media));
  if (!key) {
    v.push(`${where}: content type ${media || "(none)"} is not one of ${Object.keys(content).join(", ")}`);
    return v;
  }
  const schema = content[key]!.schema as Json | undefined;
  if (schema) {
    const isForm = key === "application/x-www-form-urlencoded" || key === "multipart/form-data";
    const policy = opts.unknownFields ?? "spec";
    const validate = compile(spec, `body:${route.template}:${method}:${key}:${policy}`, schema, isForm, policy);
    // coercion (form strings to numbers/booleans/arrays) rewrites its input: validate a copy
    const data = isForm ? structuredClone(req.body) : req.body;
    if (!validate(data)) v.push(...formatErrors(validate.errors, "body", where));
  }
  return v;
}

/** Checks a response body a fake is about to send (its own shape against the spec). */
export function checkResponse(spec: OpenApiIndex, method: string, path: string, status: number, body: unknown): string[] {
  const url = new URL(path, "http://spec.invalid");
  const where = `${method.toUpperCase()} ${url.pathname} -> ${status}`;
  const found = match(spec, method.toLowerCase(), url.pathname);
  if (!found?.op) return [`${where}: no such operation in the spec`];
  const responses = (found.op.responses ?? {}) as Record<string, Json>;
  const resp = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
  if (!resp) return [`${where}: the spec lists no response with this status`];
  const content = (deref(spec, resp).content ?? {}) as Record<string, Json>;
  const key = Object.keys(content).find((k) => mediaMatches(k, "application/json"));
  const schema = key ? (content[key]!.schema as Json | undefined) : undefined;
  if (!schema) return [];
  const validate = compile(spec, `response:${found.route.template}:${method}:${status}`, schema, false, "spec");
  return validate(body) ? [] : formatErrors(validate.errors, "response", where);
}

// ---------------------------------------------------------------------------------------------

function match(spec: OpenApiIndex, method: string, rawPath: string): { route: Route; op?: Json; params: Record<string, string> } | undefined {
  let path = rawPath.split("?")[0]!;
  if (spec.basePath && path.startsWith(spec.basePath)) path = path.slice(spec.basePath.length) || "/";
  let pathOnly: { route: Route; params: Record<string, string> } | undefined;
  for (const route of spec.routes) {
    const m = route.regex.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    route.names.forEach((n, i) => {
      params[n] = safeDecode(m[i + 1]!);
    });
    const op = route.item[method.toLowerCase()] as Json | undefined;
    if (op && HTTP_METHODS.includes(method.toLowerCase())) return { route, op, params };
    pathOnly ??= { route, params };
  }
  return pathOnly;
}

function checkSecurity(spec: OpenApiIndex, op: Json, headers: Record<string, string | undefined>, url: URL, where: string): string[] {
  const requirements = (op.security ?? spec.doc.security) as Json[] | undefined;
  if (!requirements || requirements.length === 0) return [];
  const schemes = (((spec.doc.components as Json | undefined)?.securitySchemes ?? {}) as Record<string, Json>);
  const auth = headers.authorization ?? "";
  const satisfied = (name: string): boolean => {
    const s = schemes[name];
    if (!s) return false;
    if (s.type === "http") {
      const scheme = String(s.scheme).toLowerCase();
      const [given, cred = ""] = auth.split(/\s+/, 2) as [string, string?];
      if (given.toLowerCase() !== scheme || cred.length === 0) return false;
      if (scheme === "basic") {
        const decoded = Buffer.from(cred, "base64").toString("utf8");
        return decoded.includes(":") && decoded.indexOf(":") > 0;
      }
      return true;
    }
    if (s.type === "oauth2" || s.type === "openIdConnect") return /^bearer\s+\S+/i.test(auth);
    if (s.type === "apiKey") {
      const n = String(s.name);
      if (s.in === "header") return headers[n.toLowerCase()] !== undefined;
      if (s.in === "query") return url.searchParams.has(n);
      if (s.in === "cookie") return (headers.cookie ?? "").split(/;\s*/).some((c) => c.startsWith(`${n}=`));
    }
    return false;
  };
  // alternatives are OR-ed; the schemes inside one alternative are AND-ed; {} means anonymous is fine
  const ok = requirements.some((alt) => Object.keys(alt).every(satisfied));
  return ok ? [] : [`${where}: no accepted credentials (expects ${requirements.map((alt) => Object.keys(alt).join("+") || "none").join(" or ")})`];
}

function compile(spec: OpenApiIndex, key: string, schema: Json, coerce: boolean, policy: "spec" | "reject"): ValidateFunction {
  const cacheKey = `${coerce ? "form" : "json"}|${key}`;
  let fn = spec.compiled.get(cacheKey);
  if (!fn) {
    let converted = convertSchema(schema, spec.id) as Json;
    if (policy === "reject") converted = closeObjects(converted, spec);
    fn = (coerce ? spec.formAjv : spec.ajv).compile(converted);
    spec.compiled.set(cacheKey, fn);
  }
  return fn;
}

/** "reject" policy: the top-level object (after following a $ref) allows only the fields it lists. */
function closeObjects(schema: Json, spec: OpenApiIndex): Json {
  let target = schema;
  const ref = schema.$ref;
  if (typeof ref === "string") {
    const local = ref.slice(ref.indexOf("#"));
    target = convertSchema(pointer(spec.doc, local) as Json, spec.id) as Json;
  }
  if (target.properties && target.additionalProperties === undefined) return { ...target, additionalProperties: false };
  return target === schema ? schema : target;
}

function convertAll(schemas: Json | undefined, id: string): Json {
  const out: Json = {};
  for (const [k, s] of Object.entries(schemas ?? {})) out[k] = convertSchema(s, id);
  return out;
}

/**
 * OpenAPI 3.0 schema -> JSON Schema ajv understands: `nullable` becomes a null type (also added to
 * enums), local `$ref`s point into the components schema registered under the document's id.
 */
function convertSchema(node: unknown, id: string): unknown {
  if (Array.isArray(node)) return node.map((n) => convertSchema(n, id));
  if (!node || typeof node !== "object") return node;
  const src = node as Json;
  const out: Json = {};
  for (const [k, val] of Object.entries(src)) {
    if (k === "nullable" || k === "discriminator" || k === "example" || k === "examples" || k === "xml" || k === "externalDocs" || k.startsWith("x-")) continue;
    if (k === "$ref" && typeof val === "string" && val.startsWith("#/")) {
      out.$ref = `${id}${val}`;
      continue;
    }
    // these hold maps of schemas or literal values, not one schema
    if (k === "properties" || k === "patternProperties") {
      const props: Json = {};
      for (const [p, s] of Object.entries(val as Json)) props[p] = convertSchema(s, id);
      out[k] = props;
      continue;
    }
    if (k === "enum" || k === "default" || k === "const" || k === "required") {
      out[k] = val;
      continue;
    }
    out[k] = convertSchema(val, id);
  }
  if (src.nullable === true) {
    if (typeof out.type === "string") {
      out.type = [out.type, "null"];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    } else if (out.type === undefined) {
      return { anyOf: [out, { type: "null" }] };
    }
  }
  return out;
}

function deref(spec: OpenApiIndex, node: Json): Json {
  let cur = node;
  for (let i = 0; i < 20 && typeof cur.$ref === "string"; i++) cur = pointer(spec.doc, cur.$ref) as Json;
  return cur;
}

function pointer(doc: Json, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`spec-check: only local $ref is supported, got ${ref}`);
  let cur: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    cur = (cur as Json | undefined)?.[part];
  }
  if (cur === undefined) throw new Error(`spec-check: unresolved $ref ${ref}`);
  return cur;
}

function collectFormats(doc: Json): Set<string> {
  const out = new Set<string>();
  const walk = (n: unknown): void => {
    if (!n || typeof n !== "object") return;
    if (Array.isArray(n)) return n.forEach(walk);
    const o = n as Json;
    if (typeof o.format === "string") out.add(o.format);
    for (const v of Object.values(o)) walk(v);
  };
  walk(doc);
  return out;
}

function formatErrors(errors: ErrorObject[] | null | undefined, subject: string, where: string): string[] {
  return (errors ?? []).map((e) => {
    const at = e.instancePath ? `${subject}${e.instancePath.replace(/\//g, ".")}` : subject;
    let detail = e.message ?? e.keyword;
    if (e.keyword === "additionalProperties") detail += ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`;
    if (e.keyword === "enum") detail += ` (${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).join(", ")})`;
    return `${where}: ${at} ${detail}`;
  });
}

function lowerHeaders(h: Headers): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, val] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(val) ? val.join(", ") : val;
  return out;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

function mediaMatches(specType: string, actual: string): boolean {
  const s = specType.toLowerCase();
  if (s === actual || s === "*/*") return true;
  if (s.endsWith("/*")) return actual.startsWith(s.slice(0, -1));
  return false;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
