// The deployment files kept beside the code: deploy/wristrelay.service and the Dockerfile run what
// `npm run relay` runs, with the hardening and health check they promise.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeSettings } from "../../backend/src/config.ts";
import { runRelayProcess } from "../helpers/relay-process.ts";
import { ROOT } from "./npm-process";

const read = (p: string) => readFileSync(join(ROOT, p), "utf8");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "wr-deploy-"));
  dirs.push(d);
  return d;
};

/** key -> values of a systemd unit, section by section ("Service.Restart" -> ["on-failure"]). */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = s[1];
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error("not a unit line: " + line);
    const key = section + "." + kv[1];
    out.set(key, [...(out.get(key) ?? []), kv[2]]);
  }
  return out;
}

/** The Dockerfile's instructions, continuation lines joined. */
function dockerInstructions(text: string): { op: string; args: string }[] {
  const joined = text
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^(\w+)\s+(.*)$/.exec(l)!;
      return { op: m[1].toUpperCase(), args: m[2] };
    });
}

const relayScript = () => (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts.relay;
/** node's arguments in `npm run relay` ("exec node --import tsx backend/src/main.ts"): --import tsx and the file */
const relayNodeArgs = () => relayScript().replace(/^exec\s+node\s+/, "").split(/\s+/);
const shutdownMs = () => Number(describeSettings().find((s) => s.name === "SHUTDOWN_TIMEOUT_MS")!.default);

describe("deploy/wristrelay.service", () => {
  const text = read("deploy/wristrelay.service");
  const unit = parseUnit(text);
  const one = (k: string) => unit.get(k)?.at(-1);

  it("when systemd reads the unit, then it accepts every line (systemd-analyze verify, with this machine's node in ExecStart)", () => {
    const hasSystemd = spawnSync("systemd-analyze", ["--version"]).status === 0;
    if (!hasSystemd) {
      // no systemd here: the structural checks below still hold
      expect(unit.has("Service.ExecStart")).toBe(true);
      return;
    }
    const dir = tempDir();
    const copy = join(dir, "wristrelay.service");
    writeFileSync(copy, text.replace(/^ExecStart=\S+/m, "ExecStart=" + process.execPath));
    const r = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    expect(r.stderr.trim()).toBe("");
    expect(r.status).toBe(0);
  });

  it("when it starts the relay, then it runs as a dedicated user from /etc/wristrelay/env, restarts on failure, and waits longer than the relay's own shutdown limit", () => {
    expect(one("Service.User")).toBe("wristrelay");
    expect(one("Service.User")).not.toBe("root");
    expect(unit.get("Service.EnvironmentFile")).toEqual(["/etc/wristrelay/env"]);
    expect(one("Service.Restart")).toBe("on-failure");
    const stop = /^(\d+)s?$/.exec(one("Service.TimeoutStopSec") ?? "");
    expect(stop).not.toBeNull();
    expect(Number(stop![1]) * 1000).toBeGreaterThan(shutdownMs());
    expect(one("Install.WantedBy")).toBe("multi-user.target");
  });

  it("when it is hardened, then it cannot gain privileges, sees the system read-only and may write only the database's folder", () => {
    for (const [k, v] of [
      ["NoNewPrivileges", "yes"],
      ["ProtectSystem", "strict"],
      ["ProtectHome", "yes"],
      ["PrivateTmp", "yes"],
      ["PrivateDevices", "yes"],
      ["RestrictSUIDSGID", "yes"],
      ["CapabilityBoundingSet", ""],
    ])
      expect(one("Service." + k), k).toBe(v);
    const db = (unit.get("Service.Environment") ?? []).map((e) => /^DATABASE_URL=file:(.+)$/.exec(e)).find(Boolean);
    expect(db).toBeTruthy();
    expect(one("Service.ReadWritePaths")).toBe(dirname(db![1]));
    expect(one("Service.StateDirectory")).toBe("wristrelay");
  });

  it("when it runs, then ExecStart is the command of `npm run relay` (node --import tsx backend/src/main.ts) in one node process", () => {
    const [node, ...args] = one("Service.ExecStart")!.split(/\s+/);
    expect(node).toMatch(/^\/\S*node$/);
    expect(args).toEqual(relayNodeArgs());
  });
});

describe("Dockerfile", () => {
  const ins = dockerInstructions(read("Dockerfile"));
  const all = (op: string) => ins.filter((i) => i.op === op).map((i) => i.args);
  const cmd = JSON.parse(all("CMD").at(-1)!) as string[];
  const env = new Map<string, string>();
  for (const e of all("ENV")) for (const m of e.matchAll(/(\w+)=(\S+)/g)) env.set(m[1], m[2]);

  it("when it is built, then it has a dependency stage and a runtime stage on node:20-bookworm-slim, with runtime dependencies only (tsx is one)", () => {
    const args = new Map(all("ARG").map((a) => a.split("=") as [string, string]));
    const froms = all("FROM").map((f) => f.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? ""));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^node:20-bookworm-slim\b/);
    expect(all("RUN").some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    const pkg = JSON.parse(read("package.json")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(pkg.dependencies.tsx).toBeTruthy();
    expect(relayScript()).toMatch(/^exec node --import tsx /);
  });

  it("when it runs, then it is a non-root user with a data volume, port 8787 on every interface and a health check on /healthz", () => {
    expect(all("USER").at(-1)).toMatch(/^(node|[a-z][\w-]*)$/);
    expect(all("USER").at(-1)).not.toBe("root");
    expect(env.get("HOST")).toBe("0.0.0.0");
    expect(env.get("PORT")).toBe("8787");
    expect(all("EXPOSE")).toContain("8787");
    const volume = JSON.parse(all("VOLUME").at(-1)!) as string[];
    expect(env.get("DATABASE_URL")).toBe(`file:${volume[0]}/relay.db`);
    expect(all("HEALTHCHECK").at(-1)).toContain("/healthz");
  });

  it("when the image copies the code, then every folder the relay imports from is in it", () => {
    const copied = all("COPY").filter((c) => !c.startsWith("--from")).map((c) => c.split(/\s+/)[0]);
    const needed = new Set<string>();
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith(".ts"))
          for (const m of readFileSync(p, "utf8").matchAll(/from "(\.[^"]+)"/g)) needed.add(relative(ROOT, resolve(dirname(p), m[1])).split("/")[0]);
      }
    };
    walk(join(ROOT, "backend", "src"));
    expect([...needed].filter((d) => !copied.includes(d))).toEqual([]);
  });

  it("when its CMD and HEALTHCHECK are run here with the image's environment, then the relay starts, says where it listens and the health check passes", async () => {
    expect(cmd).toEqual(["node", ...relayNodeArgs()]);
    const dir = tempDir();
    const p = runRelayProcess({ ...Object.fromEntries(env), HOST: "127.0.0.1", PORT: "0", DATABASE_URL: `file:${join(dir, "relay.db")}`, RELAY_SECRET: randomBytes(32).toString("base64") });
    try {
      let url = "";
      for (let i = 0; i < 400 && !url; i++) {
        url = /listening on (http:\/\/\S+)/.exec(p.stdout())?.[1] ?? "";
        if (!url) await new Promise((r) => setTimeout(r, 50));
      }
      expect(url, p.stderr()).not.toBe("");
      const hc = JSON.parse(all("HEALTHCHECK").at(-1)!.replace(/^.*?CMD\s+/, "")) as string[];
      const port = new URL(url).port;
      execFileSync(hc[0] === "node" ? process.execPath : hc[0], hc.slice(1), { env: { PORT: port }, timeout: 10_000 });
    } finally {
      p.child.kill("SIGTERM");
      await p.exited;
    }
  }, 40_000);
});
