// Fake "user-profile" (the face does not use it yet; here so an import resolves). Test API: __reset.
export const user = {
  age: 35,
  bmr: 1600,
  gender: "female" as "male" | "female" | "unknown",
  height: 1.7,
  weight: 65,
  restingHeartRate: 60,
  maxHeartRate: 185,
  stride: { walk: 0.7, run: 1.1 },
  heartRateZone(hr: number): string {
    return hr < 100 ? "out-of-range" : hr < 130 ? "fat-burn" : hr < 160 ? "cardio" : "peak";
  },
};
export function __reset(): void {
  user.age = 35;
}
