// Settings forms (F34): each says where its fields go (data-api, data-method); the fields
// become the JSON body — "grants.chats_admin" nests, data-type converts — and the page
// reloads with the new state, or shows what the API answered once (a module's secrets).
import { api } from "./conversation.js";

const error = document.getElementById("settings-error");

function body(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    let v;
    switch (el.dataset.type) {
      case "bool":
        v = el.type === "checkbox" ? el.checked : el.value === "true";
        break;
      case "ids":
        v = [...el.selectedOptions].map((o) => Number(o.value));
        break;
      case "optional":
        v = el.value === "" ? null : el.value;
        break;
      case "int":
        v = el.value === "" ? null : Number(el.value);
        break;
      case "minutes":
        v = el.value === "" ? null : Math.round(Number(el.value) * 60);
        break;
      default:
        v = el.value;
    }
    const path = el.name.split(".");
    let at = out;
    for (const key of path.slice(0, -1)) at = at[key] ??= {};
    at[path[path.length - 1]] = v;
  }
  return out;
}

// Working hours (the widget's, a channel's distribution): none unless switched on.
function hoursOf(form) {
  const f = form.elements;
  if (!f.namedItem("hours_on").checked) return null;
  const checked = [...form.querySelectorAll('input[name="hours.days"]:checked')].map((el) => Number(el.value));
  return {
    utc_offset_minutes: Number(f.namedItem("hours.utc_offset_minutes").value),
    days: checked,
    from: f.namedItem("hours.from").value,
    to: f.namedItem("hours.to").value,
  };
}

// A channel's distribution (F36): the generic fields, and its hours.
function distributionBody(form) {
  const out = body(form);
  for (const key of Object.keys(out)) if (key === "hours_on" || key.startsWith("hours")) delete out[key];
  out.hours = hoursOf(form);
  return out;
}

// A website widget's form (F39): its lists, its optional hours and its empty texts need a
// shape the generic fields cannot say.
function widgetBody(form) {
  const f = form.elements;
  const val = (name) => f.namedItem(name).value.trim();
  const text = (name) => val(name) || null;
  const checked = (name) =>
    [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((el) => el.value);
  const hours = hoursOf(form);
  return {
    name: val("name"),
    active: f.namedItem("active").checked,
    settings: {
      title: val("title"),
      avatar_url: text("avatar_url"),
      color: val("color"),
      position: val("position"),
      greeting: text("greeting"),
      languages: checked("languages"),
      hours,
      away_text: text("away_text"),
      prechat: { name: val("prechat.name"), phone: val("prechat.phone"), email: val("prechat.email") },
      allowed_origins: val("allowed_origins").split(/\s+/).filter(Boolean),
    },
  };
}

for (const form of document.querySelectorAll("form[data-api]")) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
    const method = form.dataset.method;
    const bodies = { widget: widgetBody, distribution: distributionBody };
    const payload = (bodies[form.dataset.kind] ?? body)(form);
    const r = await api(form.dataset.api, method, method === "DELETE" ? undefined : payload);
    if (!r.ok) {
      const problem = await r.json().catch(() => ({}));
      error.textContent = problem.message || String(r.status);
      error.hidden = false;
      error.scrollIntoView({ block: "center" });
      return;
    }
    const show = form.dataset.show && document.querySelector(form.dataset.show);
    if (show) {
      const answer = await r.json();
      for (const el of show.querySelectorAll("[data-field]")) el.textContent = answer[el.dataset.field] ?? "";
      // A value the answer does not hold is not shown, nor its term.
      for (const dd of show.querySelectorAll("dd")) {
        const empty = !dd.textContent.trim();
        dd.hidden = empty;
        if (dd.previousElementSibling?.tagName === "DT") dd.previousElementSibling.hidden = empty;
      }
      show.hidden = false;
      return;
    }
    location.reload();
  });
}

// The messenger form shows, and sends, only the fields of the messenger chosen.
const connect = document.getElementById("connect-messenger");
if (connect) {
  const kind = connect.elements.namedItem("type");
  const show = () => {
    for (const el of connect.querySelectorAll("[data-for]")) {
      const on = el.dataset.for.split(" ").includes(kind.value);
      el.hidden = !on;
      for (const input of el.querySelectorAll("input, select")) input.disabled = !on;
    }
  };
  kind.addEventListener("change", show);
  show();
}
