// npm run sim [-- --loss 0.3 --kills 5 --out-of-range 14:00-17:00 --seed N --json] [--relay URL]
// Runs one simulated day of watch + companion + relay and prints the timeline; with --json, one
// JSON object on the last line. With --relay the phone talks to that running relay (outbox
// providers on) instead of one started in memory, and what it sent shows on URL/dev/outbox.
import { parseWindow, runSim } from "./world";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf("--" + name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const json = process.argv.indexOf("--json") >= 0;
  const window = arg("out-of-range");
  const relayUrl = arg("relay");
  if (process.argv.indexOf("--relay") >= 0 && !(relayUrl && /^https?:\/\//.test(relayUrl))) throw new Error("--relay needs the relay's URL, e.g. --relay http://127.0.0.1:8787");
  const report = await runSim({
    relayUrl,
    seed: Number(arg("seed") ?? 1),
    loss: Number(arg("loss") ?? 0),
    kills: Number(arg("kills") ?? 0),
    outOfRange: window ? parseWindow(window) : null,
  });
  for (const line of report.timeline) console.log(line);
  console.log("");
  console.log(
    `watch messages ${report.watchMessages} (${report.watchBytes} bytes), relay calls ${report.relayCalls}, ` +
      `battery events raised ${report.raised.length}, recorded ${report.recorded.length}, lost ${report.lost}, ` +
      `duplicates ${report.duplicates} (retries absorbed by the relay ${report.retriesAbsorbed}), SMS ${report.sms.length}, posts ${report.posts.length}, kills ${report.kills}`,
  );
  if (report.remote) console.log(`relay ${report.relayUrl}: the SMS and posts are on ${report.relayUrl}/dev/outbox`);
  if (json) {
    console.log(
      JSON.stringify({
        watchMessages: report.watchMessages,
        watchBytes: report.watchBytes,
        relayCalls: report.relayCalls,
        sms: report.sms.map((s) => ({ at: s.at, body: s.body, delayMs: s.delayMs })),
        posts: report.posts,
        lost: report.lost,
        duplicates: report.duplicates,
        retriesAbsorbed: report.retriesAbsorbed,
        batteryEvents: { raised: report.raised.length, recorded: report.recorded.length },
        kills: report.kills,
        relay: report.remote ? report.relayUrl : "in-memory",
      }),
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(process.env.SIM_DEBUG || !(err instanceof Error) ? err : err.message);
    process.exit(1);
  },
);
