// The open conversation: its actions (F07–F11), the composer (F15, F18, F25–F30, F32) and the
// client card (F14, F35). Everything shown comes from server fragments or is set as text.

export const api = (url, method = "GET", body) =>
  fetch(url, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

export const fragment = (html) => {
  const t = document.createElement("template");
  t.innerHTML = html.trim();
  return t.content;
};

const errorText = async (r) => {
  const e = await r.json().catch(() => ({}));
  return e.message || String(r.status);
};

const show = (el, text) => {
  el.textContent = text;
  el.hidden = !text;
};

const IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"];
const kindOf = (file) =>
  IMAGE_TYPES.includes(file.type)
    ? "image"
    : file.type.startsWith("audio/")
      ? "audio"
      : file.type.startsWith("video/")
        ? "video"
        : "file";

// ctx: { id, reload(), leave(), changed() } from the workspace.
export function bindConversation(root, ctx) {
  const id = ctx.id;
  const actionError = root.querySelector("#action-error");
  const act = async (url, method = "POST", body) => {
    const r = await api(url, method, body);
    if (!r.ok) {
      show(actionError, await errorText(r));
      return false;
    }
    return true;
  };
  const on = (sel, handler) => root.querySelector(sel)?.addEventListener("click", handler);

  on("#assign-btn", async () => {
    // "manager:5", "bot:2", or "" for nobody.
    const [type, value] = root.querySelector("#assign-to").value.split(":");
    const to = type ? { type, id: Number(value) } : null;
    if (await act(`/api/v1/dialogs/${id}/assign`, "POST", { to })) ctx.reload();
  });
  on("#close-btn", async () => {
    if (await act(`/api/v1/dialogs/${id}/close`)) ctx.reload();
  });
  on("#unread-btn", async () => {
    if (await act(`/api/v1/dialogs/${id}/unread`)) ctx.leave();
  });
  on("#block-btn", async () => {
    if (await act(`/api/v1/dialogs/${id}/client/block`)) ctx.reload();
  });
  for (const sel of ["#unblock-btn", "#unblock-note-btn"]) {
    on(sel, async () => {
      if (await act(`/api/v1/dialogs/${id}/client/block`, "DELETE")) ctx.reload();
    });
  }

  const composer = bindComposer(root, id);
  bindTemplates(root, id, ctx);

  // Attachments panel (F11): images and files, download, send again.
  const slot = root.querySelector("#files-slot");
  const loadFiles = async (tab) => {
    const r = await api(`/ui/dialogs/${id}/attachments?tab=${tab}`);
    if (!r.ok) return show(actionError, await errorText(r));
    slot.replaceChildren(fragment(await r.text()));
  };
  on("#files-btn", () => (slot.firstChild ? slot.replaceChildren() : loadFiles("images")));
  slot?.addEventListener("click", async (e) => {
    const tab = e.target.closest(".files-tab");
    if (tab) return loadFiles(tab.dataset.tab);
    if (e.target.closest(".files-close")) return slot.replaceChildren();
    const again = e.target.closest(".file-resend");
    if (again && composer) {
      const item = again.closest(".file-item");
      const r = await api(`/api/v1/dialogs/${id}/attachments/${item.dataset.id}/copy`, "POST");
      if (!r.ok) return show(actionError, await errorText(r));
      composer.addPending(await r.json());
    }
  });

  // Hover actions on messages (F15): quote, and a quick reply from the text.
  root.querySelector("#feed")?.addEventListener("click", async (e) => {
    const msg = e.target.closest("li.msg");
    if (!msg) return;
    if (e.target.closest(".msg-quote-btn") && composer) {
      composer.quote(Number(msg.dataset.id), msg.querySelector(".msg-body")?.textContent || "");
    } else if (e.target.closest(".msg-quick-btn")) {
      const r = await api("/api/v1/quick-replies", "POST", { from_message_id: Number(msg.dataset.id) });
      if (!r.ok) show(actionError, await errorText(r));
      else e.target.closest(".msg-quick-btn").classList.add("done");
    }
  });
}

// The messenger's approved templates (WhatsApp's), offered once its reply window has closed:
// one is picked, its variables filled in, and it is sent alone.
function bindTemplates(root, id, ctx) {
  const form = root.querySelector("#template-form");
  if (!form) return;
  const pick = form.querySelector("#template-pick");
  const preview = form.querySelector("#template-preview");
  const vars = form.querySelector("#template-vars");
  const send = form.querySelector("#template-send");
  const error = form.querySelector("#template-error");
  let templates = [];
  const chosen = () => templates[Number(pick.value)];
  const values = () => [...vars.querySelectorAll("input")].map((i) => i.value);
  const render = () => {
    const t = chosen();
    let text = t.body;
    values().forEach((v, i) => {
      text = text.replaceAll(`{{${i + 1}}}`, v || `{{${i + 1}}}`);
    });
    preview.textContent = text;
    preview.hidden = false;
  };
  api(`/api/v1/dialogs/${id}/templates`).then(async (r) => {
    if (!r.ok) return show(error, await errorText(r));
    templates = await r.json();
    templates.forEach((t, i) => {
      const o = document.createElement("option");
      o.value = String(i);
      o.textContent = `${t.name} (${t.language})`;
      pick.append(o);
    });
  });
  pick.addEventListener("change", () => {
    vars.replaceChildren();
    const t = pick.value === "" ? null : chosen();
    send.disabled = !t;
    preview.hidden = !t;
    if (!t) return;
    for (let n = 1; n <= t.variables; n++) {
      const input = document.createElement("input");
      input.placeholder = `{{${n}}}`;
      input.setAttribute("aria-label", `{{${n}}}`);
      input.required = true;
      input.addEventListener("input", render);
      vars.append(input);
    }
    render();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const t = chosen();
    const template = { name: t.name, language: t.language, variables: values() };
    const r = await api(`/api/v1/dialogs/${id}/messages`, "POST", { template });
    if (!r.ok) return show(error, await errorText(r));
    ctx.reload();
  });
}

function bindComposer(root, id) {
  const form = root.querySelector("#composer");
  if (!form) return null;
  const limits = form.dataset;
  const text = form.querySelector("#composer-text");
  const error = form.querySelector("#composer-error");
  const pendingBox = form.querySelector("#pending");
  const quickList = form.querySelector("#quick-list");
  const emojiGrid = form.querySelector("#emoji-grid");
  const enterSends = form.querySelector("#enter-sends");
  let pending = [];
  let quoteId = null;

  enterSends.checked = localStorage.getItem("beseda.enterSends") === "1";
  enterSends.addEventListener("change", () =>
    localStorage.setItem("beseda.enterSends", enterSends.checked ? "1" : "0"),
  );

  const renderPending = () => {
    pendingBox.replaceChildren();
    if (quoteId !== null) {
      const q = document.createElement("span");
      q.className = "chip quote-chip";
      q.textContent = `↩ ${form.dataset.quoteText || ""}`;
      const x = document.createElement("button");
      x.type = "button";
      x.textContent = "×";
      x.addEventListener("click", () => {
        quoteId = null;
        renderPending();
      });
      q.append(x);
      pendingBox.append(q);
    }
    for (const a of pending) {
      const chip = document.createElement("span");
      chip.className = "chip file-chip";
      chip.dataset.id = a.id;
      chip.textContent = a.file_name;
      const x = document.createElement("button");
      x.type = "button";
      x.textContent = "×";
      x.addEventListener("click", () => {
        pending = pending.filter((p) => p !== a);
        renderPending();
      });
      chip.append(x);
      pendingBox.append(chip);
    }
  };
  const addPending = (a) => {
    pending.push(a);
    renderPending();
  };

  // Drafts (F18): kept on the server as the manager types.
  let draftTimer = null;
  const saveDraft = () => {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(() => api(`/api/v1/dialogs/${id}/draft`, "PUT", { body: text.value }), 400);
  };

  // F25–F27: the channel's limits, checked before anything is uploaded.
  const check = (files) => {
    const all = [...pending.map((p) => ({ kind: p.kind, size: p.size_bytes })), ...files.map((f) => ({ kind: kindOf(f), size: f.size }))];
    const images = all.filter((f) => f.kind === "image").length;
    if (images > Number(limits.maxImages)) return `${limits.msgImages} (${limits.maxImages})`;
    if (all.length - images > Number(limits.maxFiles)) return `${limits.msgFiles} (${limits.maxFiles})`;
    for (const f of files) {
      const limit = Number(limits[`limit${kindOf(f)[0].toUpperCase()}${kindOf(f).slice(1)}`]);
      if (f.size > limit) return `${f.name} ${limits.msgTooBig} (${Math.round(limit / 1048576)} MB)`;
    }
    const total = all.reduce((s, f) => s + f.size, 0);
    if (total > Number(limits.maxTotal)) return limits.msgTotal;
    return "";
  };
  const upload = async (list) => {
    const files = [...list];
    if (!files.length) return;
    const problem = check(files);
    show(error, problem);
    if (problem) return;
    const body = new FormData();
    for (const f of files) body.append("file", f, f.name);
    const r = await fetch(`/api/v1/dialogs/${id}/attachments`, { method: "POST", credentials: "same-origin", body });
    if (!r.ok) return show(error, await errorText(r));
    for (const a of await r.json()) addPending(a);
  };
  form.querySelector("#file-input").addEventListener("change", (e) => {
    upload(e.target.files);
    e.target.value = "";
  });
  const chatArea = root;
  chatArea.addEventListener("dragover", (e) => {
    e.preventDefault();
    chatArea.classList.add("dropping");
  });
  chatArea.addEventListener("dragleave", () => chatArea.classList.remove("dropping"));
  chatArea.addEventListener("drop", (e) => {
    e.preventDefault();
    chatArea.classList.remove("dropping");
    upload(e.dataTransfer.files);
  });

  const send = async () => {
    const body = text.value;
    if (!body.trim() && !pending.length) return;
    const counted = [...body].filter((c) => !/\s/u.test(c)).length;
    if (counted > Number(limits.maxChars)) {
      return show(error, `${limits.msgChars}: ${counted} / ${limits.maxChars}`);
    }
    const r = await api(`/api/v1/dialogs/${id}/messages`, "POST", {
      body,
      quote_id: quoteId,
      attachment_ids: pending.map((p) => p.id),
    });
    if (r.ok) {
      clearTimeout(draftTimer);
      text.value = "";
      pending = [];
      quoteId = null;
      renderPending();
      show(error, "");
    } else {
      show(error, await errorText(r));
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });

  // Quick replies (F32): from the lightning button, or by typing "/" at the start.
  let choices = [];
  let chosen = 0;
  const closeQuick = () => {
    quickList.hidden = true;
    choices = [];
  };
  const openQuick = async (q) => {
    const r = await api(`/api/v1/quick-replies${q ? `?q=${encodeURIComponent(q)}` : ""}`);
    if (!r.ok) return;
    choices = await r.json();
    chosen = 0;
    quickList.replaceChildren();
    if (!choices.length) {
      const li = document.createElement("li");
      li.className = "quick-empty";
      li.textContent = limits.msgNoQuick;
      quickList.append(li);
    }
    choices.forEach((c, i) => {
      const li = document.createElement("li");
      li.className = "quick-item";
      li.setAttribute("role", "option");
      li.dataset.index = i;
      const title = document.createElement("strong");
      title.textContent = c.title;
      const body = document.createElement("span");
      body.textContent = c.body;
      li.append(title, body);
      quickList.append(li);
    });
    highlight();
    quickList.hidden = false;
  };
  const highlight = () => {
    for (const li of quickList.querySelectorAll(".quick-item")) {
      li.setAttribute("aria-selected", Number(li.dataset.index) === chosen ? "true" : "false");
    }
  };
  const take = (i) => {
    const c = choices[i];
    if (!c) return;
    text.value = c.body;
    closeQuick();
    text.focus();
    saveDraft();
  };
  quickList.addEventListener("click", (e) => {
    const li = e.target.closest(".quick-item");
    if (li) take(Number(li.dataset.index));
  });
  form.querySelector("#quick-btn").addEventListener("click", () => (quickList.hidden ? openQuick("") : closeQuick()));

  text.addEventListener("input", () => {
    saveDraft();
    if (text.value.startsWith("/")) openQuick(text.value.slice(1).trim());
    else if (!quickList.hidden) closeQuick();
  });
  text.addEventListener("keydown", (e) => {
    if (!quickList.hidden && choices.length) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        chosen = (chosen + (e.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
        return highlight();
      }
      if (e.key === "Enter") {
        e.preventDefault();
        return take(chosen);
      }
    }
    if (e.key === "Escape") {
      closeQuick();
      emojiGrid.hidden = true;
      return;
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey || (enterSends.checked && !e.shiftKey))) {
      e.preventDefault();
      send();
    }
  });

  // Emoji (F28): inserted where the cursor is.
  form.querySelector("#emoji-btn").addEventListener("click", () => (emojiGrid.hidden = !emojiGrid.hidden));
  emojiGrid.addEventListener("click", (e) => {
    const b = e.target.closest(".emoji");
    if (!b) return;
    const at = text.selectionStart ?? text.value.length;
    text.value = text.value.slice(0, at) + b.textContent + text.value.slice(text.selectionEnd ?? at);
    text.focus();
    text.selectionStart = text.selectionEnd = at + b.textContent.length;
    saveDraft();
  });

  return {
    addPending,
    quote(messageId, body) {
      quoteId = messageId;
      form.dataset.quoteText = body.slice(0, 80);
      renderPending();
      text.focus();
    },
  };
}

// The client card (F14): tags added, pinned, removed; the client detached after a confirmation.
export async function loadClientCard(col, dialogId, ctx) {
  const r = await api(`/ui/dialogs/${dialogId}/client`);
  if (!r.ok) {
    const p = document.createElement("p");
    p.className = "placeholder";
    p.textContent = col.dataset.empty || "";
    col.replaceChildren(p);
    return;
  }
  col.replaceChildren(fragment(await r.text()));
  const card = col.querySelector("#client-card");
  const client = card.dataset.client;
  const refresh = () => {
    loadClientCard(col, dialogId, ctx);
    ctx.changed();
  };
  card.querySelector("#add-tag")?.addEventListener("change", async (e) => {
    if (!e.target.value) return;
    if ((await api(`/api/v1/clients/${client}/tags/${e.target.value}`, "PUT", { pinned: false })).ok) refresh();
  });
  card.addEventListener("click", async (e) => {
    const li = e.target.closest("li[data-tag]");
    if (li && e.target.closest(".tag-pin")) {
      const pinned = e.target.closest(".tag-pin").dataset.pinned !== "true";
      if ((await api(`/api/v1/clients/${client}/tags/${li.dataset.tag}`, "PUT", { pinned })).ok) refresh();
    } else if (li && e.target.closest(".tag-remove")) {
      if ((await api(`/api/v1/clients/${client}/tags/${li.dataset.tag}`, "DELETE")).ok) refresh();
    } else if (e.target.closest("#merge-client")) {
      const button = e.target.closest("#merge-client");
      if (!confirm(button.dataset.confirm)) return;
      const into = Number(button.dataset.into);
      if ((await api(`/api/v1/clients/${client}/merge`, "POST", { into })).ok) {
        refresh();
        ctx.reload();
      }
    } else if (e.target.closest(".order-open")) {
      openOrder(Number(e.target.closest(".order-open").dataset.order), { ...ctx, refresh });
    } else if (e.target.closest(".chat-open")) {
      ctx.open(Number(e.target.closest(".chat-open").dataset.dialog));
    } else if (e.target.closest("#detach-client")) {
      if (!confirm(e.target.closest("#detach-client").dataset.confirm)) return;
      if ((await api(`/api/v1/dialogs/${dialogId}/client/detach`, "POST")).ok) {
        refresh();
        ctx.reload();
      }
    }
  });
}

// The order card (F40) over the workspace: its status changes in place; its chat opens.
async function openOrder(id, ctx) {
  const r = await api(`/ui/orders/${id}`);
  if (!r.ok) return;
  document.getElementById("order-card")?.remove();
  document.body.append(fragment(await r.text()));
  const card = document.getElementById("order-card");
  for (const t of card.querySelectorAll("time[datetime]")) {
    const d = new Date(t.dateTime);
    if (!isNaN(d)) t.textContent = d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }
  card.addEventListener("close", () => card.remove());
  card.querySelector("#order-dismiss").addEventListener("click", () => card.close());
  card.querySelector("#order-status-save").addEventListener("click", async () => {
    const status = card.querySelector("#order-status").value;
    const saved = await api(`/api/v1/orders/${id}`, "PATCH", { status });
    if (!saved.ok) return show(card.querySelector("#order-error"), await errorText(saved));
    card.close();
    ctx.refresh();
    openOrder(id, ctx);
  });
  card.querySelector("#order-open-chat")?.addEventListener("click", (e) => {
    card.close();
    ctx.open(Number(e.target.dataset.dialog));
  });
  card.showModal();
}
