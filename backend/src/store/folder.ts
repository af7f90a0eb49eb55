// The data folder (the SQLite file's, where the development secret also lives), created with a message
// that names the setting when that is impossible.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Creates `dir` and any missing folder above it, one level at a time: `mkdirSync(recursive)` loops
 * forever where a parent exists but refuses children with ENOENT (under /proc), and its errors name
 * no setting.
 */
export function createDataFolder(dir: string): void {
  const missing: string[] = [];
  let at = dir;
  while (!existsSync(at) && dirname(at) !== at) {
    missing.unshift(at);
    at = dirname(at);
  }
  const fail = (why: string) => new Error(`DATABASE_URL: cannot create the data folder ${dir}: ${why}`);
  if (!statSync(at, { throwIfNoEntry: false })?.isDirectory()) throw fail(`${at} is not a folder`);
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST" && statSync(folder).isDirectory()) continue; // made meanwhile by another process
      if (code === "EACCES" || code === "EPERM") throw fail(`no permission to create ${folder}`);
      if (code === "ENOENT" || code === "EROFS") throw fail(`${dirname(folder)} does not allow new folders`);
      throw fail(`${folder}: ${code ?? (err as Error).message}`);
    }
  }
}
