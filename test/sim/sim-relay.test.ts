// `npm run sim -- --relay URL` against a relay started the way `npm start` starts it (`npm run relay --
// --guide`), with the command read from the relay's own start lines: what a newcomer copies and pastes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNpm, waitForOutput, type NpmProcess } from "../project/npm-process";

let dir = "";
let relay: NpmProcess | null = null;
let url = "";
let simCommand = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "wr-sim-relay-"));
  relay = runNpm(["run", "--silent", "relay", "--", "--guide"], { env: { PORT: "0", DATABASE_URL: "file:" + join(dir, "relay.db") } });
  url = (await waitForOutput(relay, /^WristRelay relay listening on (http:\/\/\S+)$/m, 40_000))[1];
  simCommand = (await waitForOutput(relay, /^\s+simulated day\s+(npm run sim -- --relay \S+)/m))[1];
}, 60_000);

afterAll(async () => {
  if (relay) await relay.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("the simulated day against a running relay", () => {
  it("when the command the relay prints is run, then within a minute its /dev/outbox shows a low-battery SMS and the day's X post", async () => {
    expect(simCommand).toBe(`npm run sim -- --relay ${url}`);
    const started = Date.now();
    const sim = runNpm(["run", "--silent", ...simCommand.split(" ").slice(2)]);
    const { code } = await Promise.race([
      sim.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the simulation took over a minute:\n" + sim.stdout())), 60_000)),
    ]).catch(async (err) => {
      await sim.stop(1000);
      throw err;
    });
    expect(code, sim.stderr()).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(sim.stdout()).toContain(`${url}/dev/outbox`);

    const page = await (await fetch(url + "/dev/outbox")).text();
    const [smsPart, postPart] = page.split("<h1>X posts</h1>");
    expect(smsPart).toMatch(/your Fitbit battery is at 20%/);
    expect(smsPart).toMatch(/\d{6}/); // the confirmation code the simulated wearer typed in
    expect(postPart).toMatch(/Today&#39;s exercise \(\d{4}-\d{2}-\d{2}\) from Fitbit/);
    expect(postPart).toMatch(/steps/);
  }, 90_000);
});
