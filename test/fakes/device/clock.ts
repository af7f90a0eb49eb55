// Fake "clock": ticks only while the display is on, as on the device. Test API: __tick, __reset.
import { makeTarget } from "../../helpers/watch-events";
import { display } from "./display";

const clock = makeTarget({
  granularity: "off" as "off" | "seconds" | "minutes" | "hours",
  ontick: undefined as undefined | ((e: { date: Date }) => void),
});
export default clock;

/** Fires a tick for `date` when the display is on and the granularity is set; says if it fired. */
export function __tick(date: Date): boolean {
  if (!display.on || clock.granularity === "off") return false;
  clock.__emit("tick", { date: new Date(date.getTime()) });
  return true;
}

export function __reset(): void {
  clock.__clear();
  clock.granularity = "off";
}
