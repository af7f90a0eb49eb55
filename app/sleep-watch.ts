// The only user of "sleep" (absent without the access_sleep permission).
import sleep from "sleep";

export function watchSleep(onChange: (state: string) => void): () => void {
  const s = sleep;
  if (!s) return function () {};
  const handler = function (): void {
    onChange(s.state);
  };
  s.addEventListener("change", handler);
  return function () {
    s.removeEventListener("change", handler);
  };
}
