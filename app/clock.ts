// The only user of "clock". Minute ticks; the system sends none while the display is off.
import clock from "clock";

export function watchClock(onTick: (date: Date) => void): () => void {
  clock.granularity = "minutes";
  const handler = function (evt: { date: Date }): void {
    onTick(evt.date);
  };
  clock.addEventListener("tick", handler);
  return function () {
    clock.removeEventListener("tick", handler);
  };
}
