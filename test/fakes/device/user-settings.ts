// Fake "user-settings". Test API: __set({ clockDisplay, distance, language }), __reset.
export const preferences = { clockDisplay: "24h" as "12h" | "24h", firstDayOfWeek: 0 as 0 | 1 };
export const units = {
  bodyWeight: "metric" as "metric" | "us" | "stone",
  distance: "metric" as "metric" | "us",
  height: "metric" as "metric" | "us",
  speed: "metric" as "metric" | "us",
  temperature: "C" as "C" | "F",
  volume: "metric" as "metric" | "us",
  weight: "metric" as "metric" | "us",
};
export const locale = { language: "en-US" };
export const exercise = { poolLength: 25 };

export function __set(s: { clockDisplay?: "12h" | "24h"; distance?: "metric" | "us"; language?: string }): void {
  if (s.clockDisplay) preferences.clockDisplay = s.clockDisplay;
  if (s.distance) units.distance = s.distance;
  if (s.language) locale.language = s.language;
}

export function __reset(): void {
  __set({ clockDisplay: "24h", distance: "metric", language: "en-US" });
}
