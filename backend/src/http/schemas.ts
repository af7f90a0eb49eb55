// Request bodies, parsed at the edge with zod. Unknown fields are refused everywhere (strict objects).
import { z } from "zod";
import { LANGUAGES, MAX_THRESHOLDS } from "../../../common/settings.ts";
import { isValidTimeZone } from "../domain/preferences.ts";

// stored as Intl names it ("asia/tokyo" -> "Asia/Tokyo", "Etc/UTC" -> "UTC"), so every later lookup and display agrees
const timezone = z
  .string()
  .min(1)
  .max(64)
  .refine(isValidTimeZone, "not an IANA time zone, e.g. Europe/Paris")
  .transform((timeZone) => new Intl.DateTimeFormat(undefined, { timeZone }).resolvedOptions().timeZone);
const language = z.enum(LANGUAGES as [string, ...string[]]);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a 24-hour time like 07:30");
const eventId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters of A-Z a-z 0-9 _ -");
const observedAt = z.iso.datetime({ offset: true });

export const RegisterBody = z.strictObject({
  timezone,
  language: language.optional(),
  model: z.string().max(64).optional(),
  appVersion: z.string().max(32).optional(),
});

export const PreferencesPatch = z.strictObject({
  lowBattery: z
    .array(z.int().min(1).max(99))
    .min(1)
    .max(MAX_THRESHOLDS)
    .refine((a) => new Set(a).size === a.length, "thresholds must be distinct")
    .optional(),
  quietHours: z
    .strictObject({ start: hhmm, end: hhmm })
    .refine((q) => q.start !== q.end, "start and end must differ")
    .nullable()
    .optional(),
  summaryTime: hhmm.optional(),
  postActivity: z.boolean().optional(),
  postSleep: z.boolean().optional(),
  sms: z.boolean().optional(),
  silenceAlertHours: z.int().min(0).max(72).optional(),
});

export const MePatch = z.strictObject({
  timezone: timezone.optional(),
  language: language.optional(),
  preferences: PreferencesPatch.optional(),
});

export const PhoneBody = z.strictObject({
  // Any string, even "12", is for parsePhone to judge (422 invalid_phone); a JSON number is let through
  // so that the same 422 can say to send a string (its "+" and leading zeros are lost, so no guessing).
  number: z.union([z.string().max(200, "at most 200 characters"), z.number()]),
  country: z.string().regex(/^[A-Za-z]{2}$/, "an ISO 3166 alpha-2 code like US").optional(),
});

export const VerifyBody = z.strictObject({
  code: z
    .string()
    .max(16)
    .transform((s) => s.replace(/\s+/g, ""))
    .pipe(z.string().regex(/^\d{6}$/, "the code has 6 digits")),
});

export const BatteryBody = z.strictObject({
  eventId,
  level: z.int().min(0).max(100),
  charging: z.boolean(),
  observedAt,
  source: z.enum(["watch", "phone"]),
  timeLeftMinutes: z.int().min(0).max(20_160).optional(),
});

export const HeartbeatBody = z.strictObject({
  // every event may carry the client's id (relay-api.md); a heartbeat is idempotent, so it is only checked
  eventId: eventId.optional(),
  observedAt,
  level: z.int().min(0).max(100).optional(),
});

export const DeliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const count = (max: number) => z.int().min(0).max(max);
const meters = (max: number) => z.number().min(0).max(max);
const day = z.iso.date();

// Counts (steps, floors, minutes, calories) are whole numbers; a distance may be fractional.
// A date after the wearer's tomorrow is refused in the domain (422 future_date): it needs their time zone.
export const SummaryBody = z.strictObject({
  eventId,
  date: day,
  activity: z.strictObject({
    steps: count(1_000_000),
    distanceMeters: meters(1_000_000),
    calories: count(100_000),
    floors: count(10_000).optional(),
    activeZoneMinutes: count(1440).optional(),
    caloriesBMR: count(100_000).optional(),
    activityCalories: count(100_000).optional(),
    sedentaryMinutes: count(1440).optional(),
    lightlyActiveMinutes: count(1440).optional(),
    fairlyActiveMinutes: count(1440).optional(),
    veryActiveMinutes: count(1440).optional(),
  }),
  sleep: z
    .strictObject({
      minutesAsleep: count(1440),
      minutesInBed: count(1440).optional(),
      estimated: z.boolean().optional(),
    })
    .optional(),
});

export const PreviewQuery = z.strictObject({ date: day });
