// The only user of "display".
import { display } from "display";

export function isDisplayOn(): boolean {
  return display.on;
}

export function watchDisplay(onChange: (on: boolean) => void): () => void {
  const handler = function (): void {
    onChange(display.on);
  };
  display.addEventListener("change", handler);
  return function () {
    display.removeEventListener("change", handler);
  };
}
