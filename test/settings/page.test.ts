// Renders settings/index.tsx with stand-ins for the Fitbit settings components (globals on the
// phone) and checks what the wearer would see: a link to open, status lines, no crash on garbage.
import { beforeAll, describe, expect, it } from "vitest";
import { KEYS, MORE_KEYS } from "../../common/settings";

type Node = { type: string; props: any; children: any[] };
let page: ((props: any) => any) | null = null;

beforeAll(async () => {
  const g = globalThis as any;
  g.createComponent = (type: any, props: any, ...children: any[]) =>
    typeof type === "function" && !type.__component ? type({ ...(props || {}), children }) : { type: type.__component || String(type), props: props || {}, children };
  for (const name of ["Page", "Section", "Text", "TextInput", "Toggle", "Select", "Button", "Link", "TextImageRow", "AdditiveList"]) {
    const c: any = () => null;
    c.__component = name;
    g[name] = c;
  }
  g.registerSettingsPage = (fn: any) => (page = fn);
  // Imported by a computed path: settings/index.tsx is type-checked by `tsc -p settings` against the
  // settings page's own globals, which the test project does not (and should not) declare.
  const pagePath = "../../settings/index";
  await import(/* @vite-ignore */ pagePath);
});

function render(settings: { [k: string]: string }): Node {
  const store = { setItem: (k: string, v: string) => (settings[k] = v), getItem: (k: string) => settings[k] ?? null };
  return page!({ settings, settingsStorage: store });
}
function all(n: any, out: Node[] = []): Node[] {
  if (!n || typeof n !== "object") return out;
  if (Array.isArray(n)) {
    for (const c of n) all(c, out);
    return out;
  }
  out.push(n);
  all(n.children, out);
  for (const k of ["title", "description"]) if (n.props && n.props[k]) all(n.props[k], out);
  return out;
}
function texts(n: Node): string[] {
  const out: string[] = [];
  for (const x of all(n)) {
    for (const c of x.children) if (typeof c === "string" && c) out.push(c);
    if (x.props && typeof x.props.sublabel === "string") out.push(x.props.sublabel);
  }
  return out;
}

describe("the settings page", () => {
  it("when it registers, then it renders the three sections with settings keys from common/settings", () => {
    expect(page).not.toBeNull();
    const tree = render({});
    const keys = all(tree).map((n) => n.props && n.props.settingsKey).filter(Boolean);
    for (const k of [KEYS.phoneNumber, KEYS.phoneCode, KEYS.thresholds, KEYS.quietEnabled, KEYS.sms, KEYS.summaryTime, KEYS.language, KEYS.relayUrl]) {
      expect(keys).toContain(k);
    }
    expect(all(tree).find((n) => n.type === "Select" && n.props.settingsKey === KEYS.thresholds)!.props.multiple).toBe(true);
  });

  it("when the companion wrote an approval URL, then the page shows a Link to it", () => {
    const tree = render({ [KEYS.xStatus]: JSON.stringify({ state: "open_url", url: "https://x.example/ok" }) });
    expect(all(tree).filter((n) => n.type === "Link").map((n) => n.props.source)).toEqual(["https://x.example/ok"]);
  });

  it("when the wearer presses Send code, Connect Google Health, Link X or Forget me, then the page writes a fresh value to that key", () => {
    const s: { [k: string]: string } = {};
    const tree = render(s);
    for (const b of all(tree).filter((n) => n.type === "Button")) b.props.onClick();
    expect(Object.keys(s).sort()).toEqual([KEYS.forgetMe, KEYS.sendCode, KEYS.xLink, MORE_KEYS.googleLink].sort());
  });

  it("when nothing is linked, then there is no Unlink button; when Google Health and X are linked, then Unlink Google Health and Unlink X write their keys", () => {
    const labels = (tree: Node) => all(tree).filter((n) => n.type === "Button").map((n) => n.props.label);
    expect(labels(render({}))).toEqual(["btn_send_code", "btn_link_google", "btn_link_x", "btn_forget"]);
    const s: { [k: string]: string } = {
      [MORE_KEYS.googleStatus]: JSON.stringify({ state: "linked", granted: { activity: true, sleep: true, settings: true } }),
      [KEYS.xStatus]: JSON.stringify({ state: "linked", username: "runner" }),
    };
    const tree = render(s);
    expect(labels(tree)).toEqual(["btn_send_code", "btn_link_google", "btn_unlink_google", "btn_link_x", "btn_unlink_x", "btn_forget"]);
    for (const b of all(tree).filter((n) => n.type === "Button" && /unlink/.test(n.props.label))) b.props.onClick();
    expect(s[MORE_KEYS.googleUnlink]).toMatch(/^\d+$/);
    expect(s[MORE_KEYS.xUnlink]).toMatch(/^\d+$/);
  });

  it("when the companion wrote a Google consent URL, then the page shows a Link to it; when the link broke, then it offers to connect again and to unlink", () => {
    const open = render({ [MORE_KEYS.googleStatus]: JSON.stringify({ state: "open_url", url: "https://relay.example/google/start?flow=abc" }) });
    expect(all(open).filter((n) => n.type === "Link").map((n) => n.props.source)).toEqual(["https://relay.example/google/start?flow=abc"]);
    const broken = render({ [MORE_KEYS.googleStatus]: JSON.stringify({ state: "broken" }) });
    const labels = all(broken).filter((n) => n.type === "Button").map((n) => n.props.label);
    expect(labels).toContain("btn_relink_google");
    expect(labels).toContain("btn_unlink_google");
    expect(texts(broken)).toContain("google_broken");
  });

  it("when every key holds garbage, then the page still renders and says what to fix", () => {
    const s: { [k: string]: string } = {};
    for (const k of Object.values(KEYS)) s[k] = k.length % 2 ? "{" : '{"selected":[99],"values":7}';
    s[KEYS.quietEnabled] = "true";
    s[KEYS.quietStart] = JSON.stringify({ name: "25:99" });
    const t = texts(render(s));
    expect(t.join(" ")).toContain("Use a 24-hour time like 07:30.");
  });
});
