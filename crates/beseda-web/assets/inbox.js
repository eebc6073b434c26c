// The live workspace (DESIGN.md §3): JSON events arrive over the WebSocket and the fragments
// they touch (a row, a message, the counter) are fetched again as HTML from the server, which
// renders them from the same templates as the page. No framework, no build step.
import { api, bindConversation, fragment, loadClientCard } from "./conversation.js";

const list = document.getElementById("dialog-list");
const chat = document.getElementById("chat");
const counter = document.getElementById("unread-counter");
const toasts = document.getElementById("toasts");
const offline = document.getElementById("offline");
const search = document.getElementById("search");
const results = document.getElementById("search-results");
const filters = document.getElementById("filters");
const clientCol = document.getElementById("client-col");
let openId = null;
let lastEvent = 0;
// The list's filter and sort as a query string ("" when none), and as the delete API's JSON.
let query = "";
let filterJson = {};

const get = async (url) => {
  const r = await api(url);
  if (!r.ok) throw new Error(String(r.status));
  return r.text();
};
const localTimes = (root) => {
  for (const t of root.querySelectorAll("time[datetime]")) {
    const d = new Date(t.dateTime);
    if (!isNaN(d)) t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
};
const markActive = () => {
  for (const row of document.querySelectorAll("li.row")) {
    const active = Number(row.dataset.id) === openId;
    row.classList.toggle("active", active);
    row.setAttribute("aria-selected", active ? "true" : "false");
  }
};

async function refreshCounter() {
  const r = await api("/api/v1/me/counters");
  if (!r.ok) return;
  const n = (await r.json()).unread_dialogs;
  counter.textContent = String(n);
  counter.hidden = n === 0;
}

// The first page of the list under the current filter and sort. Only the latest request's
// answer is shown: an earlier one arriving late (a filter changed meanwhile) is dropped.
let listRequest = 0;
async function reloadList() {
  const mine = ++listRequest;
  const html = await get(`/ui/dialogs?${query.replace(/^&/, "")}`);
  if (mine !== listRequest) return;
  const rows = fragment(html);
  localTimes(rows);
  list.replaceChildren(rows);
  document.getElementById("list-empty")?.remove();
  markActive();
  watchMore();
}

// A row is fetched again; `toTop` moves it first (a new message). A row the manager may no
// longer see (404) leaves the list. Under a filter, the list is asked again instead, since
// only the server knows whether the dialog still matches.
async function refreshRow(id, toTop) {
  if (query) return reloadList();
  let html;
  try {
    html = await get(`/ui/dialogs/${id}/row`);
  } catch {
    list.querySelector(`li.row[data-id="${id}"]`)?.remove();
    return;
  }
  // Looked up after the fetch: another refresh of the same row may have replaced it meanwhile.
  const existing = list.querySelector(`li.row[data-id="${id}"]`);
  const row = fragment(html).firstElementChild;
  localTimes(row);
  if (existing) row.querySelector(".row-select").checked = existing.querySelector(".row-select").checked;
  if (existing && !toTop) existing.replaceWith(row);
  else {
    if (existing) existing.remove();
    list.prepend(row);
  }
  document.getElementById("list-empty")?.remove();
  markActive();
}

function toast(title, text) {
  const el = document.createElement("div");
  el.className = "toast";
  const strong = document.createElement("strong");
  strong.textContent = title;
  const body = document.createElement("span");
  body.textContent = text;
  el.append(strong, body);
  toasts.append(el);
  setTimeout(() => el.remove(), 8000);
  if (document.hidden && "Notification" in window && Notification.permission === "granted") {
    new Notification(title, { body: text });
  }
}

async function showMessage(id) {
  const feed = document.getElementById("feed");
  if (!feed || openId === null) return;
  const html = await get(`/ui/dialogs/${openId}/messages/${id}`);
  const li = fragment(html).firstElementChild;
  localTimes(li);
  const existing = feed.querySelector(`li.msg[data-id="${id}"]`);
  if (existing) existing.replaceWith(li);
  else {
    feed.append(li);
    feed.scrollTop = feed.scrollHeight;
  }
}

function closeDialog() {
  openId = null;
  chat.replaceChildren();
  clientCol.replaceChildren();
  markActive();
}

// Opens a dialog: at its newest messages, around a search hit (`at.around`), or from the start
// of the date filter's period (`at.since`).
async function openDialog(id, at = {}) {
  openId = id;
  markActive();
  const params = new URLSearchParams();
  if (at.around) params.set("around", at.around);
  else if (filterJson.from) params.set("since", filterJson.from);
  let html;
  try {
    html = await get(`/ui/dialogs/${id}?${params}`);
  } catch {
    if (openId === id) closeDialog();
    await refreshRow(id, false);
    return;
  }
  // Another dialog was opened while this one loaded: it wins.
  if (openId !== id) return;
  chat.replaceChildren(fragment(html));
  localTimes(chat);
  const feed = document.getElementById("feed");
  const target = at.around ? feed?.querySelector(`li.msg[data-id="${at.around}"]`) : null;
  if (target) {
    target.classList.add("found");
    target.scrollIntoView({ block: "center" });
  } else if (feed && !params.has("since")) feed.scrollTop = feed.scrollHeight;
  watchOlder();
  bindConversation(chat, {
    id,
    reload: () => openDialog(id),
    leave: async () => {
      closeDialog();
      await refreshRow(id, false);
      await refreshCounter();
    },
    changed: () => refreshRow(id, false),
  });
  showClientCard(id);
  await api(`/api/v1/dialogs/${id}/read`, "POST");
  await refreshRow(id, false);
  await refreshCounter();
}

// The client card of the open dialog (F14, F40): its orders and chats open from it.
function showClientCard(id) {
  loadClientCard(clientCol, id, {
    reload: () => openDialog(id),
    changed: () => refreshRow(id, false),
    open: (other) => openDialog(other),
  });
}

function onEvent(e) {
  lastEvent = Math.max(lastEvent, e.id);
  const d = e.dialog_id;
  switch (e.kind) {
    case "message_new": {
      const m = e.data.message;
      refreshRow(d, m.author.type !== "system").then(() => {
        if (openId !== d && m.author.type === "client") {
          const name = list.querySelector(`li.row[data-id="${d}"] .row-name`)?.textContent;
          toast(name || toasts.dataset.title, m.body);
        }
      });
      if (openId === d) {
        showMessage(m.id);
        if (m.author.type === "client") api(`/api/v1/dialogs/${d}/read`, "POST").then(refreshCounter);
      }
      refreshCounter();
      break;
    }
    case "message_status":
    case "message_edited":
    case "message_deleted":
      if (openId === d && e.data.message) showMessage(e.data.message.id);
      break;
    // These come with their line in the feed, announced by a message_new that refreshes the row.
    case "dialog_reopened":
    case "dialog_assigned":
    case "dialog_closed":
    case "client_blocked":
    case "client_unblocked":
    case "client_detached":
      break;
    case "order_changed":
      if (openId === d) showClientCard(d);
      break;
    // A row's waiting mark moved with time (F13): redrawn where it is, never brought to the top.
    case "waiting_level_changed":
      if (list.querySelector(`li.row[data-id="${d}"]`)) refreshRow(d, false);
      break;
    case "dialog_gone":
    case "dialog_deleted":
      list.querySelector(`li.row[data-id="${d}"]`)?.remove();
      if (openId === d) closeDialog();
      refreshCounter();
      break;
    default:
      if (d) refreshRow(d, false);
      refreshCounter();
  }
}

// Events from the last one seen on: a lost connection shows a banner and resumes by itself.
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws${lastEvent ? `?after=${lastEvent}` : ""}`);
  ws.onopen = () => {
    offline.hidden = true;
    document.body.dataset.live = "true";
  };
  ws.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.kind === "resync") location.reload();
    else onEvent(e);
  };
  ws.onclose = () => {
    offline.hidden = false;
    document.body.dataset.live = "false";
    // The server closes a socket whose session ended (signed out elsewhere, a new password,
    // the account disabled): such a screen goes to the sign-in page instead of retrying.
    fetch("/api/v1/me").then((r) => {
      if (r.status === 401) location.href = "/login";
    }, () => {});
    setTimeout(connect, 1000);
  };
}

// Clicking a row opens it; its avatar's box selects it instead.
document.querySelector(".col-list").addEventListener("click", (e) => {
  if (e.target.closest(".row-select")) return;
  const row = e.target.closest("li.row");
  if (row) return openDialog(Number(row.dataset.id));
  const hit = e.target.closest("li.hit");
  if (hit) openDialog(Number(hit.dataset.dialog), { around: Number(hit.dataset.message) });
});
// Arrows move through the list, Enter opens, Esc closes what is open.
list.addEventListener("keydown", (e) => {
  const rows = [...list.querySelectorAll("li.row")];
  const at = rows.findIndex((r) => r === document.activeElement);
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const next = rows[Math.min(rows.length - 1, Math.max(0, at + (e.key === "ArrowDown" ? 1 : -1)))];
    next?.focus();
  } else if (e.key === "Enter" && at >= 0) {
    openDialog(Number(rows[at].dataset.id));
  }
});
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  if (!filters.hidden) toggleFilters(false);
  else if (!results.hidden) {
    search.value = "";
    showSearch(false);
  }
});

// Endless scrolling: the "more" item loads the next keyset page when it comes into view; the
// "older" item at the top of the feed loads earlier messages.
const observer = new IntersectionObserver(async (seen) => {
  for (const s of seen) {
    if (!s.isIntersecting || s.target.dataset.loading) continue;
    s.target.dataset.loading = "1";
    if (s.target.classList.contains("older")) {
      const feed = document.getElementById("feed");
      const before = feed.scrollHeight;
      const older = fragment(await get(`/ui/dialogs/${openId}/older?before=${s.target.dataset.before}`));
      localTimes(older);
      s.target.replaceWith(older);
      feed.scrollTop += feed.scrollHeight - before;
      watchOlder();
    } else {
      const more = fragment(await get(s.target.dataset.next));
      localTimes(more);
      s.target.replaceWith(more);
      watchMore();
    }
  }
});
function watchMore() {
  const more = list.querySelector("li.more:not([data-loading])");
  if (more) observer.observe(more);
}
function watchOlder() {
  const older = document.querySelector("#feed li.older:not([data-loading])");
  if (older) observer.observe(older);
}

// Search (F06): one field over dialogs and messages; Esc or an empty field returns to the list.
let searchTimer = null;
function showSearch(on) {
  results.hidden = !on;
  list.hidden = on;
  if (!on) results.replaceChildren();
}
search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const q = search.value.trim();
    if (!q) return showSearch(false);
    const r = await api(`/ui/search?q=${encodeURIComponent(q)}`);
    if (!r.ok || search.value.trim() !== q) return;
    const found = fragment(await r.text());
    localTimes(found);
    results.replaceChildren(found);
    showSearch(true);
  }, 250);
});

// Filters and sorting (F20–F24): the form becomes the list's query string.
function toggleFilters(on) {
  filters.hidden = !on;
  document.getElementById("filters-toggle").setAttribute("aria-expanded", on ? "true" : "false");
}
document.getElementById("filters-toggle").addEventListener("click", () => toggleFilters(filters.hidden));
const dayStart = (value) => new Date(`${value}T00:00:00`).getTime();
function readFilters() {
  const f = new FormData(filters);
  const out = {};
  const joined = (name) => f.getAll(name).join(",");
  for (const name of ["responsible", "bots", "channels"]) if (joined(name)) out[name] = joined(name);
  for (const name of ["status", "last"]) if (f.get(name)) out[name] = f.get(name);
  const mode = f.get("tag_mode");
  if (mode === "none") out.tags = "none";
  else if (mode === "list" && joined("tags")) out.tags = joined("tags");
  if (f.get("pinned") && mode !== "none") out.pinned = true;
  const from = f.get("from_date");
  const to = f.get("to_date") || from;
  if (from) out.from = dayStart(from);
  if (to) out.to = dayStart(to) + 86_400_000;
  if (!from && to) out.from = 0;
  const sort = f.get("sort");
  return { filter: out, sort: sort && sort !== "activity" ? sort : "" };
}
async function applyFilters() {
  const { filter, sort } = readFilters();
  filterJson = filter;
  const params = new URLSearchParams();
  if (sort) params.set("sort", sort);
  for (const [k, v] of Object.entries(filter)) params.set(k, String(v));
  query = params.toString() ? `&${params}` : "";
  document.getElementById("filters-on").hidden = !query;
  selectAll.checked = false;
  await reloadList();
}
// F24: "No tags" locks the tag list; a picked tag moves to the top; "Pinned" counts and shows
// only pinned tags.
const tagOptions = document.getElementById("tag-options");
async function tagPanel() {
  if (!tagOptions) return;
  const f = new FormData(filters);
  const none = f.get("tag_mode") === "none";
  for (const box of tagOptions.querySelectorAll("input[name=tags]")) box.disabled = none;
  const pinned = !!f.get("pinned");
  const r = await api(`/api/v1/dialogs/filters?pinned=${pinned}`);
  if (!r.ok) return;
  for (const t of (await r.json()).tags) {
    const li = tagOptions.querySelector(`li[data-tag="${t.id}"]`);
    if (!li) continue;
    li.querySelector(".count").textContent = String(t.dialogs);
    li.classList.toggle("unpinned", pinned && t.dialogs === 0 && !li.querySelector("input").checked);
  }
}
filters.addEventListener("change", (e) => {
  // Choosing a tag means "from the list", and brings it to the top.
  if (e.target.name === "tags" && e.target.checked) {
    filters.querySelector("input[name=tag_mode][value=list]").checked = true;
    tagOptions.prepend(e.target.closest("li"));
  }
  if (["tag_mode", "pinned"].includes(e.target.name)) tagPanel();
  applyFilters();
});
filters.addEventListener("reset", () =>
  setTimeout(() => {
    tagPanel();
    applyFilters();
  }),
);
document.getElementById("tag-search")?.addEventListener("input", (e) => {
  const needle = e.target.value.trim().toLowerCase();
  for (const li of document.querySelectorAll("#tag-options li")) {
    li.hidden = !li.textContent.toLowerCase().includes(needle);
  }
});

// Selection and bulk delete (F19): the boxes on the avatars, or everything the filter matches.
const selectAll = document.getElementById("select-all");
selectAll.addEventListener("change", () => {
  for (const box of list.querySelectorAll(".row-select")) box.checked = selectAll.checked;
  document.body.classList.toggle("selecting", selectAll.checked);
});
list.addEventListener("change", (e) => {
  if (!e.target.classList.contains("row-select")) return;
  if (!e.target.checked) selectAll.checked = false;
  document.body.classList.toggle("selecting", !!list.querySelector(".row-select:checked"));
});
document.getElementById("delete-selected")?.addEventListener("click", async (e) => {
  const ids = [...list.querySelectorAll(".row-select:checked")].map((b) => Number(b.value));
  const all = selectAll.checked;
  if (!all && !ids.length) return;
  if (!confirm(e.target.dataset.confirm)) return;
  const body = all ? { filter: filterJson } : { ids };
  const r = await api("/api/v1/dialogs/delete", "POST", body);
  document.getElementById("actions").open = false;
  if (r.ok) {
    selectAll.checked = false;
    document.body.classList.remove("selecting");
    if (all || ids.includes(openId)) closeDialog();
    await reloadList();
    await refreshCounter();
  }
});

if ("Notification" in window && Notification.permission === "default") {
  document.addEventListener("click", () => Notification.requestPermission(), { once: true });
}
// A photo that does not load leaves the initial under it visible.
document.addEventListener(
  "error",
  (e) => {
    if (e.target.classList?.contains("avatar-photo")) e.target.remove();
  },
  true,
);
localTimes(document);
watchMore();
connect();
