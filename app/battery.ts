// The only user of "power".
import { battery } from "power";

export interface BatteryReading {
  lvl: number;
  chg: boolean;
}

export function readBattery(): BatteryReading {
  return { lvl: Math.round(battery.chargeLevel), chg: !!battery.charging };
}

/** Calls back on every battery change; returns the function that stops it. */
export function watchBattery(onChange: () => void): () => void {
  const handler = function (): void {
    onChange();
  };
  battery.addEventListener("change", handler);
  return function () {
    battery.removeEventListener("change", handler);
  };
}
