// Text the face shows. Words come from the caller's translator (gettext on the watch), so these
// stay pure and testable in both languages. Pure: imports nothing.

export type Translate = (msgid: string) => string;

function fill(template: string, values: { [k: string]: string | number }): string {
  return template.replace(/\{(\w+)\}/g, function (whole: string, key: string) {
    return values[key] !== undefined ? String(values[key]) : whole;
  });
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** The big clock: "21:03" or "9:03" with "PM" apart. */
export function formatClock(date: Date, h24: boolean, t: Translate): { time: string; ampm: string } {
  const h = date.getHours();
  const m = pad2(date.getMinutes());
  if (h24) return { time: pad2(h) + ":" + m, ampm: "" };
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return { time: h12 + ":" + m, ampm: t(h < 12 ? "am" : "pm") };
}

/** A time inside a sentence: "21:03" or "9:03 PM" (order from the translation). */
export function formatShortTime(date: Date, h24: boolean, t: Translate): string {
  const c = formatClock(date, h24, t);
  return h24 ? c.time : fill(t("time_ampm"), { t: c.time, ap: c.ampm });
}

/** "Sat Nov 21" / "11月21日(土)". */
export function formatDate(date: Date, t: Translate): string {
  return fill(t("date_fmt"), {
    wd: t("wd" + date.getDay()),
    mo: t("mo" + (date.getMonth() + 1)),
    d: date.getDate(),
  });
}

export const METRES_PER_MILE = 1609.344;

/** "3.42 km" / "2.13 mi"; metres in, the user's units out. */
export function formatDistance(metres: number, units: "km" | "mi", t: Translate): string {
  const v = units === "mi" ? metres / METRES_PER_MILE : metres / 1000;
  const two = v.toFixed(2);
  return fill(t(units === "mi" ? "dist_mi" : "dist_km"), { n: Number(two) < 100 ? two : v.toFixed(0) });
}

export const UNKNOWN = "\u2014";

/** "1d 4h", "5h 20m", "45m"; "—" until there is an estimate. */
export function formatTimeLeft(minutes: number | undefined, t: Translate): string {
  if (minutes === undefined || minutes !== minutes || minutes < 0) return UNKNOWN;
  const m = Math.round(minutes);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  if (d > 0) return fill(t("left_dh"), { d: d, h: h });
  if (h > 0) return fill(t("left_hm"), { h: h, m: m % 60 });
  return fill(t("left_m"), { m: m });
}

/** "SMS sent 21:03", "number not verified", ...: the last alert's fate. */
export function formatResult(kind: string, at: Date, h24: boolean, t: Translate): string {
  return fill(t("res_" + kind), { time: formatShortTime(at, h24, t) });
}

/** "12,345" style grouping without toLocaleString (not reliable on the device). */
export function formatCount(n: number): string {
  const s = String(Math.max(0, Math.round(n)));
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ",";
    out += s.charAt(i);
  }
  return out;
}
