// switchboard dashboard: reads the admin JSON API (/api/v1/admin), nothing else.
// The session is an HttpOnly cookie; changes send the CSRF token returned at sign-in.
// All data is put in the page as text (never as HTML).
"use strict";

const API = "/api/v1/admin";
const S = { role: null, key: null, csrf: null, range: "24h", from: null, to: null, cursors: [], charts: [] };
const PALETTE = ["#3b5bdb", "#12b76a", "#f79009", "#e5484d", "#7a5af8", "#06aed4", "#ee46bc", "#84cc16", "#98a2b3"];
const $ = (sel) => document.querySelector(sel);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(path, opts = {}) {
  const headers = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.method && opts.method !== "GET" && S.csrf) headers["X-CSRF-Token"] = S.csrf;
  const resp = await fetch(API + path, { method: opts.method || "GET", headers, credentials: "same-origin", body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const body = await resp.json().catch(() => null);
  if (resp.status === 401 && path !== "/session") { showSignIn(); throw new Error("signed out"); }
  if (!resp.ok) throw new Error((body && body.error && body.error.message) || resp.statusText);
  return body;
}

// ---- formatting ----
const usd = (nano) => {
  const v = (nano || 0) / 1e9;
  if (v === 0) return "$0.00";
  if (v < 0.01) return "$" + v.toPrecision(2);
  return "$" + v.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
};
const axisUsd = (v) => (v === 0 ? "$0" : v < 1 ? "$" + Number(v.toPrecision(2)) : "$" + compact(v));
const plural = (n, word) => `${num(n)} ${word}${n === 1 ? "" : "s"}`;
const num = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString());
const compact = (n) => (n === null || n === undefined ? "–" : Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 }).format(n));
const pct = (r) => (r === null || r === undefined ? "–" : (r * 100).toFixed(r < 0.1 ? 1 : 0) + "%");
const ms = (v) => (v === null || v === undefined ? "–" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : v + " ms");
const when = (msEpoch) => new Date(msEpoch).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
const statusBadge = (s) => h("span", { class: "badge " + (s < 300 ? "ok" : s === 499 || s === 402 || s === 429 ? "warn" : "bad") }, s);

// ---- sign-in ----
function showSignIn() {
  $("#app").hidden = true;
  $("#signin").hidden = false;
  $("#signin-key").focus();
}

async function startApp(me) {
  S.role = me.role; S.key = me.key; S.csrf = me.csrf_token;
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#who").textContent = me.role === "admin" ? "admin" : "key: " + me.key;
  document.querySelectorAll(".admin-only").forEach((el) => { if (me.role !== "admin") el.hidden = true; });
  route();
}

$("#signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const err = $("#signin-error");
  err.hidden = true;
  try {
    const me = await api("/session", { method: "POST", body: { key: $("#signin-key").value.trim() } });
    $("#signin-key").value = "";
    startApp(me);
  } catch (e) { err.textContent = e.message; err.hidden = false; }
});

$("#signout").addEventListener("click", async () => {
  await api("/session", { method: "DELETE" }).catch(() => {});
  S.csrf = null;
  showSignIn();
});

// ---- routing ----
const PAGES = { overview: overview, keys: keys, requests: requests, request: requestDetail, models: models, config: config };
function route() {
  const [page, arg] = (location.hash.slice(1) || "overview").split("/");
  const render = PAGES[page] || overview;
  document.querySelectorAll(".page").forEach((p) => (p.hidden = p.id !== "page-" + (PAGES[page] ? page : "overview")));
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page || (page === "request" && a.dataset.page === "requests")));
  render(arg).catch((e) => { if (e.message !== "signed out") console.error(e); });
}
window.addEventListener("hashchange", route);

// ---- overview ----
function rangeQuery() {
  return S.range === "custom" ? `from=${S.from}&to=${S.to}` : `range=${S.range}`;
}

document.querySelectorAll("#range-seg button").forEach((b) => b.addEventListener("click", () => {
  if (b.dataset.range === "custom") { $("#custom-range").hidden = false; return; }
  $("#custom-range").hidden = true;
  S.range = b.dataset.range;
  overview();
}));
$("#range-apply").addEventListener("click", () => {
  const from = Date.parse($("#range-from").value), to = Date.parse($("#range-to").value);
  if (!(from < to)) return;
  S.range = "custom"; S.from = from; S.to = to;
  overview();
});
$("#stack-by").addEventListener("change", () => overview());
$("#metric").addEventListener("change", () => overview());

function kpi(label, value, sub, id) {
  return h("div", { class: "card kpi", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), h("div", { class: "sub" }, sub || ""));
}

async function overview() {
  document.querySelectorAll("#range-seg button").forEach((b) => b.classList.toggle("on", b.dataset.range === S.range));
  const by = $("#stack-by").value, metric = $("#metric").value;
  const d = await api(`/overview?${rangeQuery()}&by=${by}`);
  const t = d.totals, l = d.latency;
  $("#kpis").replaceChildren(
    kpi("Spend", usd(t.cost_nano_usd), plural(t.requests, "request"), "kpi-spend"),
    kpi("Requests", num(t.requests), plural(t.errors, "error"), "kpi-requests"),
    kpi("Tokens", compact(t.tokens), `${compact(t.prompt_tokens)} in · ${compact(t.completion_tokens)} out`, "kpi-tokens"),
    kpi("Error rate", pct(t.error_rate), `${num(t.errors)} failed`, "kpi-errors"),
    kpi("Cache hits", pct(t.cache_hit_rate), `saved ≈ ${usd(t.cache_savings_nano_usd)}`, "kpi-cache"),
    kpi("Latency p50 / p95", `${ms(l.latency_p50_ms)}`, `p95 ${ms(l.latency_p95_ms)} · p99 ${ms(l.latency_p99_ms)}`, "kpi-latency"),
    kpi("TTFT p50 / p95", `${ms(l.ttft_p50_ms)}`, `p95 ${ms(l.ttft_p95_ms)} · p99 ${ms(l.ttft_p99_ms)}`, "kpi-ttft"),
  );
  const label = $("#metric").selectedOptions[0].textContent;
  $("#chart-title").textContent = `${label} by ${by}, per ${d.bucket_ms >= 86400000 ? "day" : "hour"}`;
  drawChart(d.series, metric);
  $("#breakdowns").replaceChildren(...["model", "provider", "key", "team"].map((dim) => breakdownCard(dim, d.breakdown[dim], t)));
}

function drawChart(series, metric) {
  S.charts.forEach((c) => c.destroy());
  S.charts = [];
  const el = $("#chart");
  el.replaceChildren();
  if (!series.groups.length) { el.append(h("div", { class: "empty" }, "No requests in this range.")); return; }
  const xs = series.buckets.map((b) => b / 1000);
  const scale = metric === "cost_nano_usd" ? 1e9 : 1;
  const raw = series.groups.map((g) => g[metric].map((v) => v / scale));
  // Stacked: each drawn line is the running total; drawn largest first so fills layer.
  const stacked = [];
  raw.forEach((r, i) => stacked.push(r.map((v, j) => v + (i ? stacked[i - 1][j] : 0))));
  const order = stacked.map((_, i) => i).reverse();
  const fmt = (v) => (metric === "cost_nano_usd" ? usd(v * 1e9) : num(Math.round(v)));
  const opts = {
    width: Math.max(el.clientWidth, 280), height: 300,
    scales: { x: { time: true } },
    axes: [{ stroke: getComputedStyle(document.body).color, grid: { stroke: "rgba(128,128,128,.15)" } },
           { stroke: getComputedStyle(document.body).color, grid: { stroke: "rgba(128,128,128,.15)" }, size: 70, values: (u, vals) => vals.map((v) => (metric === "cost_nano_usd" ? axisUsd(v) : compact(v))) }],
    series: [{}].concat(order.map((i) => ({
      label: series.groups[i].name, stroke: PALETTE[i % PALETTE.length], fill: PALETTE[i % PALETTE.length] + "55", width: 1.5, points: { show: false },
      value: (u, v, si, idx) => (idx === null || idx === undefined ? "–" : fmt(raw[i][idx])),
    }))),
  };
  S.charts.push(new uPlot(opts, [xs].concat(order.map((i) => stacked[i])), el));
}

function breakdownCard(dim, rows, totals) {
  const max = Math.max(1, ...rows.map((r) => r.cost_nano_usd));
  const body = rows.slice(0, 10).map((r) => h("tr", {},
    h("td", {}, r.name),
    h("td", { class: "num" }, h("span", { class: "share", "data-w": Math.round((r.cost_nano_usd / max) * 80) }), usd(r.cost_nano_usd)),
    h("td", { class: "num" }, num(r.requests)),
    h("td", { class: "num" }, compact(r.tokens)),
    h("td", { class: "num" }, pct(r.error_rate))));
  const card = h("div", { class: "card", id: "breakdown-" + dim }, h("h3", {}, "By " + dim),
    rows.length ? h("div", { class: "scroll" }, h("table", { class: "table" }, h("thead", {}, h("tr", {}, h("th", {}, dim), h("th", { class: "num" }, "spend"), h("th", { class: "num" }, "requests"), h("th", { class: "num" }, "tokens"), h("th", { class: "num" }, "errors"))), h("tbody", {}, body)))
      : h("div", { class: "empty" }, "No data"));
  card.querySelectorAll(".share").forEach((s) => (s.style.width = s.dataset.w + "px"));
  return card;
}

// ---- keys ----
$("#new-key-toggle").addEventListener("click", () => { $("#new-key-form").hidden = !$("#new-key-form").hidden; });
const list = (v) => v.split(",").map((s) => s.trim()).filter(Boolean);

$("#new-key-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const err = $("#nk-error");
  err.hidden = true;
  const body = { name: $("#nk-name").value.trim() };
  const v = (id) => $(id).value.trim();
  if (v("#nk-team")) body.team = v("#nk-team");
  if (v("#nk-budget")) body.budget = { limit_usd: Number(v("#nk-budget")), period: v("#nk-period") };
  if (v("#nk-rpm") || v("#nk-tpm")) body.rate_limit = { requests_per_minute: v("#nk-rpm") ? Number(v("#nk-rpm")) : null, tokens_per_minute: v("#nk-tpm") ? Number(v("#nk-tpm")) : null };
  if (v("#nk-models")) body.allowed_models = list(v("#nk-models"));
  if (v("#nk-ips")) body.allowed_ips = list(v("#nk-ips"));
  if (v("#nk-guardrails")) body.guardrails = list(v("#nk-guardrails"));
  if (v("#nk-expires")) body.expires_at_ms = Date.parse(v("#nk-expires") + "T23:59:59Z");
  try {
    const made = await api("/keys", { method: "POST", body });
    showSecret(made.name, made.key, "Created");
    $("#new-key-form").reset();
    $("#new-key-form").hidden = true;
    keys();
  } catch (e) { err.textContent = e.message; err.hidden = false; }
});

function showSecret(name, secret, what) {
  const box = $("#new-key-secret");
  box.replaceChildren(
    h("strong", {}, `${what} key “${name}”. Copy it now: it is shown only once.`),
    h("code", { id: "new-key-value" }, secret),
    h("div", {}, h("button", { onclick: () => navigator.clipboard && navigator.clipboard.writeText(secret) }, "Copy"), " ", h("button", { class: "ghost", onclick: () => (box.hidden = true) }, "Done")));
  box.hidden = false;
}

function progress(b) {
  if (!b) return h("span", { class: "muted" }, "no budget");
  const p = Math.min(1, b.progress);
  const bar = h("div", { class: "bar" + (b.progress >= 0.9 ? " bad" : b.progress >= 0.7 ? " warn" : "") }, h("span", {}));
  bar.firstChild.style.width = (p * 100).toFixed(1) + "%";
  return h("div", {}, bar, h("div", { class: "muted" }, `${usd(b.spent_nano_usd)} of ${usd(b.limit_nano_usd)} ${b.period} · ${pct(b.progress)} · resets ${String(b.resets_on).slice(0, 10)}`));
}

const rate = (r) => (r ? [r.requests_per_minute && `${num(r.requests_per_minute)} req/min`, r.tokens_per_minute && `${compact(r.tokens_per_minute)} tok/min`].filter(Boolean).join(", ") : "none");

async function keyAction(name, action) {
  if (action === "revoke" && !confirm(`Revoke “${name}”? It stops working at once.`)) return;
  const r = await api(`/keys/${encodeURIComponent(name)}/${action}`, { method: "POST" }).catch((e) => alert(e.message));
  if (r && r.key) showSecret(name, r.key, "Rotated");
  keys();
}

async function keys() {
  const d = await api("/keys");
  const sorted = d.keys.slice().sort((a, b) => (b.budget ? b.budget.progress : -1) - (a.budget ? a.budget.progress : -1));
  $("#keys-list").replaceChildren(h("div", { class: "keys" }, sorted.map((k) => {
    const revoked = k.revoked_at_ms;
    const actions = S.role === "admin" && k.source === "runtime" && !revoked
      ? h("div", { class: "actions" }, h("button", { onclick: () => keyAction(k.name, "rotate"), "data-action": "rotate" }, "Rotate"), h("button", { class: "danger", onclick: () => keyAction(k.name, "revoke"), "data-action": "revoke" }, "Revoke"))
      : null;
    const models = (k.spend_by_model_this_month || []).slice(0, 4).map((m) => h("div", {}, `${m.model}: ${usd(m.cost_nano_usd)} (${num(m.requests)})`));
    return h("div", { class: "card key-card" + (revoked ? " revoked" : ""), "data-key": k.name },
      h("div", { class: "head" }, h("span", { class: "name" }, k.name), h("span", { class: "badge plain" }, k.source === "yaml" ? "YAML · read-only" : "runtime"),
        revoked ? h("span", { class: "badge bad" }, "revoked") : null, k.team ? h("span", { class: "badge" }, "team " + k.team) : null, actions),
      progress(k.budget),
      h("dl", { class: "kv" },
        h("dt", {}, "Spend"), h("dd", {}, `today ${usd(k.spend.daily_nano_usd)} · week ${usd(k.spend.weekly_nano_usd)} · month ${usd(k.spend.monthly_nano_usd)}`),
        h("dt", {}, "Rate limit"), h("dd", {}, rate(k.rate_limit)),
        k.allowed_models ? [h("dt", {}, "Models"), h("dd", {}, k.allowed_models.join(", "))] : null,
        k.allowed_ips ? [h("dt", {}, "IPs"), h("dd", {}, k.allowed_ips)] : null,
        k.guardrails && k.guardrails.length ? [h("dt", {}, "Guardrails"), h("dd", {}, k.guardrails.join(", "))] : null,
        k.expires_at_ms ? [h("dt", {}, "Expires"), h("dd", {}, new Date(k.expires_at_ms).toLocaleDateString())] : null,
        h("dt", {}, "This month"), h("dd", {}, models.length ? models : h("span", { class: "muted" }, "no spend"))));
  })));
  $("#teams-list").replaceChildren(d.teams.length ? h("div", { class: "card" }, h("h3", {}, "Team budgets"),
    h("table", { class: "table" }, h("tbody", {}, d.teams.map((t) => h("tr", {}, h("td", {}, t.name), h("td", {}, progress(t.budget)), h("td", {}, rate(t.rate_limit))))))) : "");
}

// ---- requests ----
function filterQuery() {
  const q = new URLSearchParams();
  for (const [id, name] of [["#f-key", "key"], ["#f-model", "model"], ["#f-provider", "provider"], ["#f-status", "status"], ["#f-cache", "cache"]]) if ($(id).value.trim()) q.set(name, $(id).value.trim());
  if ($("#f-from").value) q.set("from", Date.parse($("#f-from").value));
  if ($("#f-to").value) q.set("to", Date.parse($("#f-to").value));
  return q;
}
$("#req-filters").addEventListener("submit", (ev) => { ev.preventDefault(); S.cursors = []; requests(); });
$("#f-clear").addEventListener("click", () => { $("#req-filters").reset(); S.cursors = []; requests(); });
$("#req-newest").addEventListener("click", () => { S.cursors = []; requests(); });
$("#req-older").addEventListener("click", () => { if (S.next) { S.cursors.push(S.next); requests(); } });

async function requests() {
  if (S.key) { $("#f-key").value = S.key; $("#f-key").disabled = true; }
  const q = filterQuery();
  q.set("limit", "50");
  if (S.cursors.length) q.set("before", S.cursors[S.cursors.length - 1]);
  const d = await api("/requests?" + q.toString());
  S.next = d.next;
  $("#req-older").disabled = !d.next;
  const rows = d.data.map((r) => h("tr", { class: "link", "data-id": r.id, onclick: () => (location.hash = "request/" + r.id) },
    h("td", {}, when(r.created_at_ms)), h("td", {}, r.key), h("td", {}, r.model || "–"), h("td", {}, r.provider || "–"),
    h("td", {}, statusBadge(r.status), r.error_type ? h("span", { class: "muted" }, " " + r.error_type) : ""),
    h("td", { class: "num" }, num(r.prompt_tokens + r.completion_tokens)), h("td", { class: "num" }, usd(r.cost_nano_usd)),
    h("td", { class: "num" }, ms(r.latency_ms)), h("td", {}, r.cache_hit ? h("span", { class: "badge ok" }, "hit") : "")));
  $("#req-table tbody").replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 9, class: "empty" }, "No requests match."))]));
}

async function requestDetail(id) {
  const page = $("#page-request");
  const r = await api("/requests/" + encodeURIComponent(id));
  const g = r.generation;
  const attempts = Array.isArray(r.attempts) ? r.attempts : [];
  page.replaceChildren(
    h("div", { class: "toolbar" }, h("a", { href: "#requests" }, "← Requests"), h("h2", { class: "mono" }, r.id), statusBadge(r.status), r.error_type ? h("span", { class: "badge bad" }, r.error_type) : null),
    h("div", { class: "kpis" },
      kpi("Cost", usd(r.cost_nano_usd), r.cache_hit ? "cache hit" : "cache miss"),
      kpi("Tokens", num(r.prompt_tokens + r.completion_tokens), `${num(r.prompt_tokens)} in · ${num(r.completion_tokens)} out`),
      kpi("Latency", ms(r.latency_ms), `TTFT ${ms(r.ttft_ms)}`),
      kpi("Model", r.model || "–", r.provider || "no provider reached")),
    h("div", { class: "card", id: "attempts" }, h("h3", {}, "Attempts"), attempts.length
      ? h("table", { class: "table" }, h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "provider"), h("th", {}, "model"), h("th", {}, "status"), h("th", {}, "reason"))),
        h("tbody", {}, attempts.map((a, i) => h("tr", {}, h("td", {}, i + 1), h("td", {}, a.provider), h("td", {}, a.model), h("td", {}, a.status ? statusBadge(a.status) : "–"), h("td", {}, a.reason || "")))))
      : h("div", { class: "empty" }, "No upstream was called (refused by the gateway: see the status and error type).")),
    h("div", { class: "card" }, h("h3", {}, "Details"), h("dl", { class: "kv" },
      h("dt", {}, "Time"), h("dd", {}, when(r.created_at_ms)), h("dt", {}, "Key"), h("dd", {}, r.key), h("dt", {}, "Team"), h("dd", {}, r.team || "–"),
      h("dt", {}, "Endpoint"), h("dd", {}, r.endpoint + (r.streamed ? " (stream)" : "")), h("dt", {}, "Finish"), h("dd", {}, g.finish_reason || "–"),
      h("dt", {}, "Cancelled"), h("dd", {}, r.cancelled ? "yes" : "no"), h("dt", {}, "Guardrails"), h("dd", {}, r.guardrails ? JSON.stringify(r.guardrails) : "none fired"),
      h("dt", {}, "Billing note"), h("dd", {}, g.usage_note || "–"), h("dt", {}, "User agent"), h("dd", {}, g.user_agent || "–"))),
    h("details", { class: "card" }, h("summary", {}, "Raw generation record"), h("pre", { class: "json" }, JSON.stringify(g, null, 2))));
}

// ---- models ----
async function models() {
  const d = await api("/models");
  const page = $("#page-models");
  const per1m = (n) => "$" + (n / 1e9).toFixed(2);
  page.replaceChildren(h("div", { class: "toolbar" }, h("h2", {}, "Models and routing"), h("span", { class: "muted" }, "endpoints cheapest first; live health; last 24 h from the usage log")),
    ...d.models.map((m) => h("div", { class: "card model-card", "data-model": m.slug },
      h("div", { class: "toolbar" }, h("strong", {}, m.slug), h("span", { class: "badge plain" }, m.kind), m.fallbacks.length ? h("span", { class: "muted" }, "fallbacks → " + m.fallbacks.join(" → ")) : null),
      h("div", { class: "table-wrap endpoints" }, h("table", { class: "table" },
        h("thead", {}, h("tr", {}, ["provider", "upstream model", "price in / out per 1M", "tried first", "breaker", "TTFT p50", "tok/s p50", "24h requests", "errors", "latency p50 / p95"].map((x) => h("th", {}, x)))),
        h("tbody", {}, m.endpoints.map((e) => {
          const b = e.breaker.state, s = e.last_24h;
          return h("tr", {}, h("td", {}, e.provider, e.disabled ? h("span", { class: "badge bad" }, " disabled") : ""), h("td", { class: "mono" }, e.upstream_model),
            h("td", {}, e.price.unpriced ? "free" : `${per1m(e.price.prompt_nano_usd_per_mtok)} / ${per1m(e.price.completion_nano_usd_per_mtok)}`),
            h("td", {}, pct(e.first_pick_share)), h("td", {}, h("span", { class: "badge " + (b === "closed" ? "ok" : b === "open" ? "bad" : "warn") }, b.replace("_", "-"))),
            h("td", {}, ms(e.live.ttft_p50_ms)), h("td", {}, e.live.tokens_per_sec_p50 ? e.live.tokens_per_sec_p50.toFixed(0) : "–"),
            h("td", { class: "num" }, s ? num(s.requests) : "0"), h("td", { class: "num" }, s && s.requests ? pct(s.errors / s.requests) : "–"),
            h("td", {}, s ? `${ms(s.latency_p50_ms)} / ${ms(s.latency_p95_ms)}` : "–"));
        })))))));
}

// ---- config ----
async function config() {
  const d = await api("/config");
  const r = d.last_reload;
  $("#page-config").replaceChildren(h("div", { class: "toolbar" }, h("h2", {}, "Config"), h("span", { class: "muted mono" }, d.source)),
    h("div", { class: "card", id: "reload-status" }, h("h3", {}, "Last reload"), !r ? h("div", {}, h("span", { class: "badge plain" }, "none since start"), " the config loaded at start is in effect")
      : h("div", {}, h("span", { class: "badge " + (r.ok ? "ok" : "bad") }, r.ok ? "applied" : "refused"), " ", when(r.at_ms), r.errors.length ? h("pre", { class: "json error" }, r.errors.join("\n")) : "")),
    d.warnings.length ? h("div", { class: "card" }, h("h3", {}, "Warnings"), d.warnings.map((w) => h("div", {}, w))) : "",
    h("div", { class: "card" }, h("h3", {}, "Effective config (secrets masked)"), h("pre", { class: "json", id: "effective-config" }, JSON.stringify(d.effective, null, 2))));
}

window.addEventListener("resize", () => { if (!$("#page-overview").hidden && S.charts.length) overview(); });

// Resume a session if the cookie is still good.
fetch(API + "/session", { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)).then((me) => (me ? startApp(me) : showSignIn())).catch(showSignIn);
