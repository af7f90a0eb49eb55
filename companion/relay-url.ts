// The relay the companion talks to unless the wearer set one under Advanced. Overridable at build
// time by replacing this file's constant (e.g. `sed` in CI before `fitbit-build`); no secret here.
export const DEFAULT_RELAY_URL = "http://127.0.0.1:8787";
