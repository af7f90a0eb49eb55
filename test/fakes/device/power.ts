// Fake "power". Test API: __set({ chargeLevel, charging }) fires `change` when something changed.
import { makeTarget } from "../../helpers/watch-events";

export const battery = makeTarget({
  chargeLevel: 100,
  charging: false,
  timeUntilFull: 0,
  onchange: undefined as undefined | ((e: unknown) => void),
});
export const charger = makeTarget({
  connected: false,
  powerIsGood: undefined as boolean | undefined,
  onchange: undefined as undefined | ((e: unknown) => void),
});

export function __set(s: { chargeLevel?: number; charging?: boolean }): void {
  const lvl = s.chargeLevel !== undefined ? Math.max(0, Math.min(100, s.chargeLevel)) : battery.chargeLevel;
  const chg = s.charging !== undefined ? s.charging : battery.charging;
  const plugChanged = chg !== battery.charging;
  if (lvl === battery.chargeLevel && !plugChanged) return;
  battery.chargeLevel = lvl;
  battery.charging = chg;
  if (plugChanged) {
    charger.connected = chg;
    charger.powerIsGood = chg ? true : undefined;
    charger.__emit("change");
  }
  battery.__emit("change");
}

export function __reset(): void {
  battery.__clear();
  charger.__clear();
  battery.chargeLevel = 100;
  battery.charging = false;
  charger.connected = false;
  charger.powerIsGood = undefined;
}
