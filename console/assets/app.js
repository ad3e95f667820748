// flowbridge operator console. Plain ES module, no dependencies, no build
// step. Every piece of server data is put on the page with textContent,
// never as HTML, and the Content-Security-Policy allows no inline script.

const KEY = "flowbridge.operatorKey";
const $ = (id) => document.getElementById(id);

const KINDS = {
  rates_quoted: "Rates quoted",
  placement_claimed: "Placement started",
  order_created: "Supplier order created",
  order_replayed: "Answered again (replay)",
  order_reconciled: "Found at the supplier and adopted",
  order_recorded: "Number already on the Shopify order",
  order_rejected: "Refused by the supplier",
  held_for_review: "Held for review",
  resolved: "Resolved by an operator",
  cache_released: "Cached answers released",
  tracking_checked: "Tracking checked",
  error: "Error",
};

const STATES = {
  quoted: "quoted",
  in_flight: "placing",
  placed: "placed",
  rejected: "rejected",
  needs_review: "needs review",
  released: "released",
  failed: "attempt failed",
};

const ATTENTION = {
  needs_review: "needs a person: held for review",
  cancelled: "needs a person: cancelled at the supplier",
  no_tracking: "needs a person: no tracking yet",
};

const view = { filter: "", next: "", selected: null, orders: [] };

function key() {
  return sessionStorage.getItem(KEY) || "";
}

function say(text, kind = "") {
  const s = $("status");
  s.textContent = text;
  s.className = "status" + (kind ? " " + kind : "");
}

class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// api calls the operator API relative to the page, so the console works
// behind a path prefix too.
async function api(path, body) {
  const headers = {
    Authorization: "Bearer " + key(),
    Accept: "application/json",
    "X-Flowbridge-Client": "console",
  };
  const init = { method: "GET", headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    init.method = "POST";
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const msg = (data && (data.detail || data.title)) || "HTTP " + res.status;
    throw new ApiError(msg, res.status, data && data.code);
  }
  return data;
}

function failed(err) {
  if (err instanceof ApiError && err.status === 401) {
    sessionStorage.removeItem(KEY);
    showConnected(false);
    say("The operator key was refused. Enter a valid operator key.", "error");
    $("key").focus();
    return;
  }
  say(err.message || String(err), "error");
}

function showConnected(on) {
  $("key-form").hidden = on;
  $("session").hidden = !on;
  $("main").hidden = !on;
  if (on) {
    const k = key();
    $("key-hint").textContent = "…" + k.slice(-4);
  } else {
    $("detail").hidden = true;
    $("main").classList.remove("with-detail");
    $("rows").replaceChildren();
    view.selected = null;
  }
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function when(iso, compact = false) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 2000) return "";
  return compact
    ? d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

function badge(state) {
  return el("span", { class: "badge " + (state || "none"), text: STATES[state] || state || "—" });
}

function sameOrder(a, b) {
  return a && b && a.shop === b.shop && a.order_id === b.order_id;
}

function renderRows() {
  const rows = $("rows");
  rows.replaceChildren();
  let attention = 0;
  for (const o of view.orders) {
    const open = el("button", { type: "button", class: "order", text: o.order_id, "aria-label": "Show order " + o.order_id });
    open.addEventListener("click", () => select(o.shop, o.order_id, true));
    const first = el("td", {}, open, el("span", { class: "shop", text: o.shop }));
    if (o.attention) {
      attention++;
      first.append(el("span", { class: "flag", text: ATTENTION[o.attention] || "needs a person" }));
    }
    const tr = el("tr", { "data-order": o.order_id },
      first,
      el("td", {}, badge(o.state)),
      el("td", { text: o.supplier_order_id || "—" }),
      el("td", { text: o.last_status || "—" }),
      el("td", { class: "num", text: String(o.checks || 0) }),
      el("td", { class: "time" }, el("time", { datetime: o.updated_at, title: when(o.updated_at), text: when(o.updated_at, true) })),
    );
    if (o.attention) tr.classList.add("attention");
    if (sameOrder(o, view.selected)) tr.setAttribute("aria-current", "true");
    rows.append(tr);
  }
  $("empty").hidden = view.orders.length > 0;
  $("more").hidden = !view.next;
  const note = $("attention");
  note.hidden = attention === 0;
  note.textContent = attention === 1 ? "1 order in this view needs a person." : attention + " orders in this view need a person.";
}

async function loadOrders(more = false) {
  const q = new URLSearchParams();
  if (view.filter) q.set("state", view.filter);
  q.set("limit", "50");
  if (more && view.next) q.set("cursor", view.next);
  const data = await api("admin/orders?" + q.toString());
  view.orders = more ? view.orders.concat(data.orders) : data.orders;
  view.next = data.next || "";
  renderRows();
}

function fact(label, value) {
  return value ? el("span", { text: label ? label + " " + value : value }) : null;
}

function renderEvent(ev) {
  const facts = el("p", { class: "facts" },
    fact("", ev.carrier),
    fact("", ev.reason),
    fact("supplier order", ev.supplier_order_id),
    ev.status ? fact("status", ev.status + (ev.raw_status ? " (supplier says “" + ev.raw_status + "”)" : "")) : null,
    ev.tracking_numbers ? fact("tracking numbers:", String(ev.tracking_numbers)) : null,
    fact("code", ev.code),
    fact("action", ev.action),
    fact("by", ev.actor),
    fact("via", ev.via),
    fact("to", ev.address),
    fact("", ev.note),
    ev.cached ? fact("", "from cache") : null,
    ev.test_mode ? fact("", "test mode") : null,
    ev.repeats ? fact("", "after " + ev.repeats + " more like the one before (folded)") : null,
  );
  return el("li", { class: "k-" + ev.kind },
    el("div", {}, el("span", { class: "what", text: KINDS[ev.kind] || ev.kind }), " ", el("time", { class: "when", datetime: ev.at, text: when(ev.at) })),
    facts.childElementCount ? facts : null,
  );
}

function renderDetail(data) {
  const o = data.order;
  view.selected = { shop: o.shop, order_id: o.order_id, state: o.state };
  $("detail").hidden = false;
  $("main").classList.add("with-detail");
  $("d-id").textContent = o.order_id;
  const dl = $("d-summary");
  dl.replaceChildren();
  const row = (k, v) => {
    if (v === "" || v === null || v === undefined) return;
    dl.append(el("dt", { text: k }), el("dd", {}, v));
  };
  row("State", badge(o.state));
  if (o.attention) row("Needs a person", ATTENTION[o.attention] || o.attention);
  row("Shop", o.shop);
  row("Supplier order", o.supplier_order_id || "none recorded");
  row("Last supplier status", o.last_status ? o.last_status + (o.raw_status ? " (“" + o.raw_status + "”)" : "") : "not checked yet");
  row("Tracking checks", String(o.checks || 0) + (o.tracked ? ", tracking number seen" : ""));
  row("Test mode", o.test_mode ? "yes" : "no");
  if (o.last_error) row("Last error", o.last_error);
  row("First seen", when(o.created_at));
  row("Updated", when(o.updated_at));
  $("resolve-form").hidden = !(o.state === "needs_review" || o.state === "rejected");
  $("events").replaceChildren(...data.events.slice().reverse().map(renderEvent));
  for (const tr of $("rows").children) {
    if (tr.dataset.order === o.order_id) tr.setAttribute("aria-current", "true");
    else tr.removeAttribute("aria-current");
  }
}

async function select(shop, id, focus) {
  try {
    const data = await api("admin/orders/" + encodeURIComponent(id) + "?shop=" + encodeURIComponent(shop));
    renderDetail(data);
    if (focus) $("detail-h").focus();
  } catch (err) {
    failed(err);
  }
}

function chosenAction() {
  return $("act-release").checked ? "release" : "adopt";
}

function confirmDialog(text) {
  const d = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    const done = (ok) => {
      $("confirm-ok").removeEventListener("click", onOk);
      $("confirm-cancel").removeEventListener("click", onCancel);
      d.removeEventListener("cancel", onCancel);
      d.close();
      resolve(ok);
    };
    const onOk = () => done(true);
    const onCancel = (e) => {
      if (e) e.preventDefault();
      done(false);
    };
    $("confirm-ok").addEventListener("click", onOk);
    $("confirm-cancel").addEventListener("click", onCancel);
    d.addEventListener("cancel", onCancel);
    d.showModal();
    $("confirm-cancel").focus();
  });
}

async function resolveSelected(e) {
  e.preventDefault();
  const sel = view.selected;
  if (!sel) return;
  const action = chosenAction();
  const number = $("number").value.trim();
  const err = $("number-error");
  err.hidden = true;
  $("number").removeAttribute("aria-invalid");
  if (action === "adopt" && !number) {
    err.hidden = false;
    $("number").setAttribute("aria-invalid", "true");
    $("number").focus();
    return;
  }
  const text = action === "adopt"
    ? "Adopt supplier order " + number + " for Shopify order " + sel.order_id + "? Flow's next call for this order will answer with this number; nothing new is created at the supplier."
    : "Release Shopify order " + sel.order_id + "? Flow's next call will place it at the supplier again. Do this only after checking that the supplier has no order for it.";
  if (!(await confirmDialog(text))) {
    say("Nothing changed.");
    $("resolve-form").querySelector("button[type=submit]").focus();
    return;
  }
  try {
    const body = action === "adopt" ? { action, supplier_order_id: number } : { action };
    const data = await api("admin/orders/" + encodeURIComponent(sel.order_id) + "/resolve?shop=" + encodeURIComponent(sel.shop), body);
    $("number").value = "";
    await loadOrders();
    renderDetail(data);
    say(action === "adopt"
      ? "Order " + sel.order_id + " resolved: supplier order " + number + " adopted."
      : "Order " + sel.order_id + " released: Flow's next call places it again.", "ok");
    $("detail-h").focus();
  } catch (err2) {
    failed(err2);
  }
}

async function connect(e) {
  e.preventDefault();
  const k = $("key").value.trim();
  if (!k) return;
  sessionStorage.setItem(KEY, k);
  $("key").value = "";
  try {
    await loadOrders();
    showConnected(true);
    say("Connected.", "ok");
    loadStock().catch(failed);
    $("orders-h").focus();
  } catch (err) {
    failed(err);
  }
}

// Stock sync view: the last run in full (changes, failures, variants not
// synced, low margins) and a table of recent runs.
const RUN_STATUS = {
  ok: "ok",
  dry_run: "dry run",
  cap_tripped: "cap tripped: nothing written",
  partial: "partly written",
  failed: "failed",
  running: "running",
};

function stockList(title, rows, cols) {
  if (!rows || rows.length === 0) return null;
  const head = el("tr", {}, ...cols.map(([label]) => el("th", { scope: "col", text: label })));
  const body = el("tbody");
  for (const r of rows) body.append(el("tr", {}, ...cols.map(([, f]) => el("td", { text: String(f(r) ?? "") }))));
  return el("table", { class: "stock-list" }, el("caption", { text: title }), el("thead", {}, head), body);
}

function term(label, value) {
  return [el("dt", { text: label }), el("dd", { text: value })];
}

function renderStock(data) {
  const runs = data.runs || [];
  $("stock-state").textContent = data.configured
    ? "Configured. Interval: " + data.interval + (data.location ? ", location " + data.location : "") + "."
    : "Not configured on this instance (set SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN).";
  if (data.running) $("stock-state").textContent += " A run is going on now (" + data.running + ").";
  const last = runs[0];
  const dl = $("stock-last");
  dl.replaceChildren();
  const lists = $("stock-lists");
  lists.replaceChildren();
  if (!last) {
    dl.append(...term("Last run", "none yet"));
  } else {
    dl.append(
      ...term("Last run", when(last.started) + " (" + last.trigger + ")"),
      ...term("Status", RUN_STATUS[last.status] || last.status),
      ...term("Variants", last.variants + " read, " + last.matched + " matched"),
      ...term("Changed", last.applied + " of " + last.planned + " planned"),
      ...term("Failed", String(last.failed)),
      ...term("Not synced", String(last.unmatched_count)),
      ...term("Vanished", String(last.vanished)),
      ...term("Low margin", String(last.low_margin)),
    );
    if (last.error) dl.append(...term("Error", last.error));
    const title = (what, n, shown) => what + (n > shown ? " (first " + shown + " of " + n + ")" : "");
    for (const t of [
      stockList(title(last.dry_run || last.status === "cap_tripped" ? "Would change" : "Changed", last.planned, (last.changes || []).length), last.changes, [
        ["Barcode", (c) => c.ean], ["Variant", (c) => c.title], ["Shopify", (c) => c.from + " → " + c.to],
        ["Supplier", (c) => (c.vanished ? "gone" : c.supplier)]]),
      stockList(title("Failed", last.failed, (last.failures || []).length), last.failures, [
        ["Barcode", (f) => f.ean], ["Variant", (f) => f.variant_id], ["Code", (f) => f.code], ["Detail", (f) => f.detail]]),
      stockList(title("Not synced (left untouched)", last.unmatched_count, (last.unmatched || []).length), last.unmatched, [
        ["Barcode", (u) => u.barcode], ["Variant", (u) => u.title], ["Reason", (u) => u.reason], ["Detail", (u) => u.detail]]),
      stockList(title("Margins below the threshold", last.low_margin, (last.low_margins || []).length), last.low_margins, [
        ["Barcode", (m) => m.ean], ["Variant", (m) => m.title], ["Margin", (m) => m.percent.toFixed(1) + " %"]]),
    ]) if (t) lists.append(t);
  }
  const rows = $("stock-rows");
  rows.replaceChildren();
  for (const r of runs) {
    rows.append(el("tr", {},
      el("td", { text: when(r.started, true) }), el("td", { text: r.trigger }),
      el("td", {}, el("span", { class: "badge run-" + r.status, text: RUN_STATUS[r.status] || r.status })),
      el("td", { text: String(r.applied) }), el("td", { text: String(r.failed) }),
      el("td", { text: String(r.unmatched_count) }), el("td", { text: String(r.vanished) }),
      el("td", { text: (r.duration_ms / 1000).toFixed(1) + " s" })));
  }
  $("stock-runs").hidden = runs.length === 0;
}

async function loadStock() {
  renderStock(await api("admin/stock?limit=10"));
}

function start() {
  $("key-form").addEventListener("submit", connect);
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    showConnected(false);
    say("Key forgotten.");
    $("key").focus();
  });
  $("filter").addEventListener("change", () => {
    view.filter = $("filter").value;
    loadOrders().catch(failed);
  });
  $("refresh").addEventListener("click", () => {
    loadOrders().catch(failed);
    if (view.selected) select(view.selected.shop, view.selected.order_id, false);
  });
  $("more").addEventListener("click", () => loadOrders(true).catch(failed));
  $("stock-refresh").addEventListener("click", () => loadStock().catch(failed));
  $("resolve-form").addEventListener("submit", resolveSelected);
  $("number").addEventListener("input", () => { $("act-adopt").checked = true; });
  if (key()) {
    loadOrders().then(() => { showConnected(true); return loadStock(); }).catch(failed);
  }
}

start();
