// Gives the watch and companion code their Fitbit host modules ("messaging", "power", "settings",
// ...) outside vitest: the same mapping as vitest.config.ts (test/fakes/<side>/<name>.ts, device
// first). Why a resolver hook: the watch code (app/watch.ts) imports its host modules directly, so
// they must resolve by name. tsx runs these .ts files as CommonJS here (no "type": "module"), where
// require() goes through Module._resolveFilename; ESM imports get the same map via module.register.
// The companion does not need it (it takes its host as arguments) but its adapter files import
// their module at load time, so the map covers the companion's names too.
import Module from "node:module";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = join(__dirname, "..");

export function fakeModuleMap(): { [name: string]: string } {
  const map: { [name: string]: string } = {};
  for (const side of ["device", "companion"]) {
    const dir = join(root, "test", "fakes", side);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".ts")) continue;
      const name = f.slice(0, -3).replace(/__/g, "/");
      if (!map[name]) map[name] = join(dir, f);
    }
  }
  return map;
}

let installed = false;

export function installHostModules(): void {
  if (installed || process.env.VITEST) return; // under vitest, vitest.config.ts aliases do this
  installed = true;
  const map = fakeModuleMap();
  const M = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string };
  const original = M._resolveFilename;
  // only for our own code: node_modules and the relay keep Node's real "fs", "events", ...
  const ours = (file: string | undefined) =>
    !!file && file.indexOf(root) === 0 && !/[\\/](node_modules|backend)[\\/]/.test(file.slice(root.length));
  M._resolveFilename = function (request: string, parent?: unknown, ...rest: unknown[]) {
    const from = parent ? (parent as { filename?: string }).filename : undefined;
    return original.call(this, map[request] && ours(from) ? map[request] : request, parent, ...rest);
  };
  const register = (Module as unknown as { register?: (url: string, parent?: string) => void }).register;
  if (register) {
    const table: { [k: string]: string } = {};
    for (const k in map) table[k] = pathToFileURL(map[k]).href;
    const hook =
      "const t=" + JSON.stringify(table) + ",r=" + JSON.stringify(pathToFileURL(root).href) +
      ";export async function resolve(s,c,n){const p=c.parentURL||'';const o=p.indexOf(r)===0&&!/\\/(node_modules|backend)\\//.test(p.slice(r.length));return n(o&&t[s]||s,c)}";
    register("data:text/javascript," + encodeURIComponent(hook));
  }
}

installHostModules();
