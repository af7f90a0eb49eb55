// The operator's pages, server-rendered: the sign-in form and the dashboard. Numbers are masked
// before they get here; no token or code is ever rendered.
import { html, page, raw, type Html } from "../http/html.ts";
import type { AdminSummary, DeadLetter, ProviderHealth } from "./admin.ts";

const STYLE = raw(`<style>
main{max-width:72rem}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1rem;justify-content:space-between;align-items:center;border-bottom:1px solid var(--line);padding-bottom:.5rem}
header.top h1{margin:0}header.top form{margin:0}
a{color:var(--accent)}
.groups{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;margin:1rem 0}
section.group{flex:1 1 auto;border-top:0;padding:0}.group h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 .35rem;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:.6rem}
.card{flex:1 1 7.5rem;border:1px solid var(--line);border-radius:.6rem;padding:.55rem .8rem}
.card .n{font-size:1.6rem;font-weight:600;line-height:1.2;font-variant-numeric:tabular-nums}
.card .l{color:var(--muted);font-size:.85rem}
.card.budget{max-width:16rem}.card.warn{border-color:var(--err)}.card.warn .n{color:var(--err)}
.bar{height:.35rem;background:var(--line);border-radius:.2rem;margin-top:.35rem;overflow:hidden}.bar span{display:block;height:100%;background:var(--accent)}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:0 1.5rem}
.scroll{overflow-x:auto}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table{font-size:.93rem}td form{margin:0}td button{padding:.3rem .8rem}
.notice{border:1px solid var(--accent);border-radius:.4rem;padding:.5rem .75rem;margin:1rem 0}
.notice.error{border-color:var(--err)}
.pill{display:inline-block;border-radius:1rem;padding:0 .55rem;font-size:.8rem;border:1px solid var(--line)}
.pill.ok{border-color:var(--accent)}.pill.off{color:var(--muted)}
code{word-break:break-all}button.link{background:none;color:var(--accent);padding:.3rem .6rem;border:1px solid var(--line)}
@media (max-width:40rem){.hide-narrow{display:none}.card .n{font-size:1.3rem}}
</style>`);

const LOGIN_STYLE = raw(`<style>main{max-width:24rem;padding-top:3rem}form button{width:100%;margin-top:1rem}input{width:100%}</style>`);

export function loginPage(o: { error?: string }): string {
  return page({
    lang: "en",
    title: "WristRelay operator: sign in",
    head: LOGIN_STYLE,
    body: html`<h1>WristRelay operator</h1>
<p class="muted">Sign in with the operator token (ADMIN_TOKEN).</p>
${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ""}
<form method="post" action="/admin/login">
<label for="token">Operator token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>`,
  });
}

export function messagePage(title: string, text: string): string {
  return page({ lang: "en", title: `WristRelay operator: ${title}`, body: html`<h1>${title}</h1><p>${text}</p><p><a href="/admin">Back to the operator page</a></p>` });
}

/** "3 min ago", "2 h ago", "5 d ago" */
export function ago(at: string | null, now: Date): string {
  if (!at) return "never";
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(at)) / 1000));
  if (s < 10) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86_400)} d ${Math.floor((seconds % 86_400) / 3600)} h`;
}

const when = (at: string | null, now: Date) => (at ? html`<time datetime="${at}" title="${at}">${ago(at, now)}</time>` : html`<span class="muted">never</span>`);

function card(n: string | number, label: string, o: { warn?: boolean; extra?: Html; id?: string; budget?: boolean } = {}): Html {
  return html`<div class="card${o.budget ? " budget" : ""}${o.warn ? " warn" : ""}"${o.id ? raw(` data-figure="${o.id}"`) : ""}><div class="n">${n}</div><div class="l">${label}</div>${o.extra}</div>`;
}

function budgetCard(label: string, b: { used: number; limit: number }, id: string): Html {
  const pct = b.limit > 0 ? Math.min(100, Math.round((b.used / b.limit) * 100)) : 100;
  return card(`${b.used} / ${b.limit}`, label, { warn: b.used >= b.limit, id, budget: true, extra: html`<div class="bar"><span style="width:${pct}%"></span></div>` });
}

const STATUSES = ["queued", "sending", "sent", "delivered", "undelivered", "failed", "dead", "cancelled"];

function deliveriesTable(rows: AdminSummary["deliveriesLast24h"]): Html {
  const channels = [...new Set(rows.map((r) => r.channel))].sort();
  const statuses = STATUSES.filter((s) => rows.some((r) => r.status === s)).concat(
    [...new Set(rows.map((r) => r.status))].filter((s) => !STATUSES.includes(s)).sort(),
  );
  if (channels.length === 0) return html`<p class="muted">No deliveries in the last 24 hours.</p>`;
  const count = (c: string, s: string) => rows.find((r) => r.channel === c && r.status === s)?.count ?? 0;
  return html`<div class="scroll"><table id="deliveries-24h">
<thead><tr><th>channel</th>${statuses.map((s) => html`<th class="num">${s}</th>`)}<th class="num">all</th></tr></thead>
<tbody>${channels.map(
    (c) =>
      html`<tr data-channel="${c}"><th>${c === "sms" ? "SMS" : c === "x" ? "X" : c}</th>${statuses.map(
        (s) => html`<td class="num" data-status="${s}">${count(c, s)}</td>`,
      )}<td class="num">${statuses.reduce((a, s) => a + count(c, s), 0)}</td></tr>`,
  )}</tbody></table></div>`;
}

function providersTable(list: ProviderHealth[], now: Date): Html {
  return html`<div class="scroll"><table id="providers">
<thead><tr><th>channel</th><th>provider</th><th>last success</th><th>last failure</th></tr></thead>
<tbody>${list.map(
    (p) => html`<tr data-channel="${p.channel}">
<th>${p.label}</th>
<td>${p.configured ? html`<span class="pill ${p.sends ? "ok" : "off"}">${p.provider}</span>` : html`<span class="pill off">not configured</span>`}${
      p.sends || !p.configured ? "" : html` <span class="muted">records only</span>`
    }</td>
<td>${p.tracked ? when(p.lastSuccessAt, now) : html`<span class="muted">n/a</span>`}</td>
<td>${p.tracked ? html`${when(p.lastFailureAt, now)}${p.lastFailureReason ? html`<br><code>${p.lastFailureReason}</code>` : ""}` : html`<span class="muted">n/a</span>`}</td>
</tr>`,
  )}</tbody></table></div>`;
}

function deadTable(list: DeadLetter[], total: number, csrf: string, now: Date): Html {
  if (list.length === 0) return html`<p class="muted" id="no-dead">No dead letters.</p>`;
  return html`<p class="muted">${total > list.length ? `The latest ${list.length} of ${total}.` : `${total} in all.`} Retry puts one back in the queue, due now, with its attempts reset.</p>
<div class="scroll"><table id="dead-letters">
<thead><tr><th>failed</th><th>channel</th><th>kind</th><th>to</th><th class="num hide-narrow">tries</th><th>reason</th><th></th></tr></thead>
<tbody>${list.map(
    (d) => html`<tr data-id="${d.id}">
<td>${when(d.failedAt, now)}</td><td>${d.channel === "sms" ? "SMS" : "X"}</td><td>${d.kind}</td>
<td>${d.to ?? html`<span class="muted">${d.channel === "x" ? "wearer's X account" : "none"}</span>`}</td>
<td class="num hide-narrow">${d.attempts}</td><td><code>${d.reason ?? ""}</code></td>
<td>${
      d.retryable
        ? html`<form method="post" action="/admin/deliveries/${d.id}/retry"><input type="hidden" name="csrf" value="${csrf}"><button type="submit">Retry</button></form>`
        : html`<span class="muted">new code on request</span>`
    }</td>
</tr>`,
  )}</tbody></table></div>`;
}

export interface DashboardNotice {
  kind: "ok" | "error";
  text: string;
}

export function dashboardPage(s: AdminSummary, o: { csrf: string; notice?: DashboardNotice }): string {
  const now = new Date(s.generatedAt);
  const w = s.wearers;
  const body = html`<header class="top">
<h1>WristRelay operator</h1>
<div class="muted">as of <time datetime="${s.generatedAt}">${s.generatedAt.slice(0, 16).replace("T", " ")} UTC</time> · <a href="/admin">refresh</a> · <a href="/admin/api/summary">JSON</a></div>
<form method="post" action="/admin/logout"><input type="hidden" name="csrf" value="${o.csrf}"><button type="submit" class="link">Sign out</button></form>
</header>
${o.notice ? html`<p class="notice ${o.notice.kind === "error" ? "error" : ""}" role="status">${o.notice.text}</p>` : ""}
<div class="groups">
<section class="group" aria-labelledby="g-wearers"><h2 id="g-wearers">Wearers</h2><div class="cards">
${card(w.total, "wearers", { id: "wearers" })}
${card(w.verifiedPhone, "verified numbers", { id: "verified" })}
${card(w.xLinked, "X linked", { id: "x-linked" })}
${w.googleLinked === undefined ? "" : card(w.googleLinked, "Google linked", { id: "google-linked" })}
${w.googleCap ? budgetCard("Google users of GOOGLE_USER_CAP", { used: w.googleCap.used, limit: w.googleCap.cap }, "google-cap") : ""}
</div></section>
<section class="group" aria-labelledby="g-queue"><h2 id="g-queue">Queue</h2><div class="cards">
${card(s.queue.depth, "queued or sending", { id: "queue-depth" })}
${card(duration(s.queue.oldestDueAgeSeconds), "oldest due waits", { id: "oldest-due", warn: s.queue.oldestDueAgeSeconds >= 300 })}
${card(s.deadLetters.total, "dead letters", { id: "dead", warn: s.deadLetters.total > 0 })}
</div></section>
<section class="group" aria-labelledby="g-budgets"><h2 id="g-budgets">Budgets today (UTC)</h2><div class="cards">
${budgetCard("SMS", s.budgets.sms, "sms-budget")}
${budgetCard("X posts", s.budgets.x, "x-budget")}
</div></section>
</div>
<div class="grid2">
<section><h2>Deliveries, last 24 hours</h2>${deliveriesTable(s.deliveriesLast24h)}</section>
<section><h2>Providers</h2>${providersTable(s.providers, now)}</section>
</div>
<section id="dead"><h2>Dead letters</h2>${deadTable(s.deadLetters.latest, s.deadLetters.total, o.csrf, now)}</section>`;
  return page({ lang: "en", title: "WristRelay operator", head: STYLE, body });
}
