// The only user of "user-settings": the wearer's own watch preferences.
import { preferences, units } from "user-settings";
import { DevicePrefs } from "../common/watch-settings";

export function readPrefs(): DevicePrefs {
  return { clockDisplay: preferences.clockDisplay, distance: units.distance };
}
