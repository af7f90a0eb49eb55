import type { z } from "zod";
import { Problem } from "./problem.ts";

/** Parses a body or query with a zod schema; a failure is a 400 invalid_request listing every issue. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? undefined);
  if (r.success) return r.data;
  const errors = r.error.issues.map((i) => ({ path: i.path.join(".") || "(body)", message: i.message }));
  throw new Problem(400, "invalid_request", errors.map((e) => `${e.path}: ${e.message}`).join("; "), { errors });
}
