// Fake "sleep": state changes reach the app only while the display is on (the system holds them
// back otherwise). Test API: __setState, __setAvailable, __reset.
import { makeTarget } from "../../helpers/watch-events";
import { __onDisplay, display } from "./display";

type State = "awake" | "asleep" | "unknown";
const sleepObj = makeTarget({ state: "unknown" as State, onchange: undefined as undefined | ((e: unknown) => void) });
let pending = false;

__onDisplay((on) => {
  if (on && pending) {
    pending = false;
    sleepObj.__emit("change");
  }
});

const sleep = sleepObj;
export default sleep;

export function __setState(state: State): void {
  if (sleepObj.state === state) return;
  sleepObj.state = state;
  if (display.on) sleepObj.__emit("change");
  else pending = true;
}

export function __reset(): void {
  sleepObj.__clear();
  sleepObj.state = "unknown";
  pending = false;
}
