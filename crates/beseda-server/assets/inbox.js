// The live workspace (DESIGN.md §3): JSON events arrive over the WebSocket and the fragments
// they touch (a row, a message, the counter) are fetched again as HTML from the server, which
// renders them from the same templates as the page. No framework, no build step.
(() => {
  "use strict";
  const list = document.getElementById("dialog-list");
  const chat = document.getElementById("chat");
  const counter = document.getElementById("unread-counter");
  const toasts = document.getElementById("toasts");
  const offline = document.getElementById("offline");
  if (!list || !chat) return;
  let openId = null;
  let lastEvent = 0;

  const get = async (url) => {
    const r = await fetch(url, { credentials: "same-origin" });
    if (!r.ok) throw new Error(String(r.status));
    return r.text();
  };
  const post = (url, body) =>
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  const fragment = (html) => {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content;
  };
  const localTimes = (root) => {
    for (const t of root.querySelectorAll("time[datetime]")) {
      const d = new Date(t.dateTime);
      if (!isNaN(d)) t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
  };
  const markActive = () => {
    for (const row of list.querySelectorAll("li.row")) {
      const active = Number(row.dataset.id) === openId;
      row.classList.toggle("active", active);
      row.setAttribute("aria-selected", active ? "true" : "false");
    }
  };

  async function refreshCounter() {
    const r = await fetch("/api/v1/me/counters", { credentials: "same-origin" });
    if (!r.ok) return;
    const n = (await r.json()).unread_dialogs;
    counter.textContent = String(n);
    counter.hidden = n === 0;
  }

  // A row is fetched again; `toTop` moves it first (a new message). A row the manager may no
  // longer see (404) leaves the list.
  async function refreshRow(id, toTop) {
    const existing = list.querySelector(`li.row[data-id="${id}"]`);
    let html;
    try {
      html = await get(`/ui/dialogs/${id}/row`);
    } catch {
      if (existing) existing.remove();
      return;
    }
    const row = fragment(html).firstElementChild;
    localTimes(row);
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

  async function openDialog(id) {
    openId = id;
    markActive();
    chat.innerHTML = await get(`/ui/dialogs/${id}`);
    localTimes(chat);
    const feed = document.getElementById("feed");
    if (feed) feed.scrollTop = feed.scrollHeight;
    bindComposer();
    await post(`/api/v1/dialogs/${id}/read`);
    await refreshRow(id, false);
    await refreshCounter();
  }

  function bindComposer() {
    const form = document.getElementById("composer");
    if (!form) return;
    const text = document.getElementById("composer-text");
    const error = document.getElementById("composer-error");
    const send = async () => {
      const body = text.value;
      if (!body.trim()) return;
      const r = await post(`/api/v1/dialogs/${form.dataset.dialog}/messages`, { body });
      if (r.ok) {
        text.value = "";
        error.hidden = true;
      } else {
        const e = await r.json().catch(() => ({}));
        error.textContent = e.message || String(r.status);
        error.hidden = false;
      }
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      send();
    });
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        send();
      }
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
          if (m.author.type === "client") post(`/api/v1/dialogs/${d}/read`).then(refreshCounter);
        }
        refreshCounter();
        break;
      }
      case "message_status":
      case "message_edited":
      case "message_deleted":
        if (openId === d && e.data.message) showMessage(e.data.message.id);
        break;
      case "dialog_gone":
      case "dialog_deleted":
        list.querySelector(`li.row[data-id="${d}"]`)?.remove();
        if (openId === d) {
          openId = null;
          chat.innerHTML = "";
        }
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
      setTimeout(connect, 1000);
    };
  }

  list.addEventListener("click", (e) => {
    const row = e.target.closest("li.row");
    if (row) openDialog(Number(row.dataset.id));
  });
  // Arrows move through the list, Enter opens.
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
  // Endless scrolling: the "more" item loads the next keyset page when it comes into view.
  const observer = new IntersectionObserver(async (seen) => {
    for (const s of seen) {
      if (!s.isIntersecting || s.target.dataset.loading) continue;
      s.target.dataset.loading = "1";
      const more = fragment(await get(s.target.dataset.next));
      localTimes(more);
      s.target.replaceWith(more);
      watchMore();
    }
  });
  function watchMore() {
    const more = list.querySelector("li.more:not([data-loading])");
    if (more) observer.observe(more);
  }
  if ("Notification" in window && Notification.permission === "default") {
    document.addEventListener("click", () => Notification.requestPermission(), { once: true });
  }
  localTimes(document);
  watchMore();
  connect();
})();
