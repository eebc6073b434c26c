// Beseda website chat widget: a launcher button and a chat panel through which a visitor of the
// company's website talks to its managers.
//
// The host page is not trusted to be friendly. Its CSS may hit every element with !important, so
// the widget lives in a shadow root and styles its host element only with inline !important
// declarations (they beat any stylesheet). It may send a strict Content-Security-Policy, so there
// are no inline styles, no markup strings and no data:/blob: images: the CSS comes from a
// constructed stylesheet and the DOM is built node by node. Every text shown comes from a visitor
// or the server, so it is always set as text, never parsed as HTML.
(() => {
  "use strict";

  // The snippet may be pasted twice (a theme and a plugin may both add it).
  if (window.Beseda) return;

  const script =
    document.currentScript || document.querySelector("script[data-beseda-channel]");
  const KEY = script && script.dataset.besedaChannel;
  if (!KEY || !script.src) return;

  const BASE = new URL(script.src).origin;
  const API = `${BASE}/api/widget/v1/${encodeURIComponent(KEY)}`;
  const LIVE_URL = `${API.replace(/^http/, "ws")}/live`;
  const USER =
    script.dataset.besedaUser && script.dataset.besedaUserSignature
      ? { id: script.dataset.besedaUser, signature: script.dataset.besedaUserSignature }
      : null;

  const TOKEN_KEY = `beseda:${KEY}`;
  const SEEN_KEY = `beseda:${KEY}:seen`;
  const PAGE = 50;
  const INPUT_MAX_HEIGHT = 116; // five 20 px lines and the padding
  const SVG_NS = "http://www.w3.org/2000/svg";

  const I18N = {
    en: {
      open: "Open chat",
      close: "Close",
      send: "Send",
      attach: "Attach a file",
      emoji: "Emoji",
      placeholder: "Type a message…",
      log: "Conversation",
      online: "Online",
      away: "Away",
      awayText: "We reply as soon as we can",
      intro: "Please introduce yourself",
      name: "Your name",
      phone: "Phone",
      email: "Email",
      start: "Start the chat",
      required: "Required",
      badEmail: "Enter a valid email address",
      badPhone: "Enter a valid phone number",
      pending: "Sending",
      sent: "Sent",
      read: "Read",
      failed: "Not sent",
      retry: "Not sent. Retry",
      deleted: "Message deleted",
      edited: "edited",
      newMessage: "New message",
      more: "Load earlier messages",
      today: "Today",
      yesterday: "Yesterday",
      download: "Download",
      remove: "Remove {name}",
      tooLarge: "{name} is too large (up to {max})",
      network: "No connection. Please try again.",
      error: "Something went wrong",
      units: "B,KB,MB,GB",
      emojiNames:
        "grinning,tears of joy,smiling,heart eyes,winking,cool,thinking,sweat smile,crying," +
        "sobbing,angry,surprised,sleeping,slight smile,upside-down,angel,in love,kiss,hug," +
        "thank you,thumbs up,thumbs down,OK,clapping,hooray,strong,waving,handshake,heart," +
        "broken heart,fire,star,party,done,no,question,hundred,coffee,gift,rocket",
    },
    ru: {
      open: "Открыть чат",
      close: "Закрыть",
      send: "Отправить",
      attach: "Прикрепить файл",
      emoji: "Эмодзи",
      placeholder: "Напишите сообщение…",
      log: "Переписка",
      online: "В сети",
      away: "Нет на месте",
      awayText: "Ответим, как только сможем",
      intro: "Представьтесь, пожалуйста",
      name: "Ваше имя",
      phone: "Телефон",
      email: "Email",
      start: "Начать чат",
      required: "Обязательное поле",
      badEmail: "Введите правильный адрес почты",
      badPhone: "Введите правильный номер телефона",
      pending: "Отправляется",
      sent: "Отправлено",
      read: "Прочитано",
      failed: "Не отправлено",
      retry: "Не отправлено. Повторить",
      deleted: "Сообщение удалено",
      edited: "изменено",
      newMessage: "Новое сообщение",
      more: "Показать предыдущие сообщения",
      today: "Сегодня",
      yesterday: "Вчера",
      download: "Скачать",
      remove: "Убрать {name}",
      tooLarge: "Файл {name} слишком большой (можно до {max})",
      network: "Нет связи. Попробуйте ещё раз.",
      error: "Что-то пошло не так",
      units: "Б,КБ,МБ,ГБ",
      emojiNames:
        "улыбка,слёзы радости,радость,влюблённость,подмигивание,крутой,раздумье,неловкость," +
        "грусть,рыдание,злость,удивление,сон,лёгкая улыбка,наоборот,ангел,любовь,поцелуй," +
        "объятия,спасибо,нравится,не нравится,хорошо,аплодисменты,ура,сила,привет,рукопожатие," +
        "сердце,разбитое сердце,огонь,звезда,праздник,готово,нет,вопрос,сто,кофе,подарок,ракета",
    },
  };

  const EMOJI = (
    "😀 😂 😊 😍 😉 😎 🤔 😅 😢 😭 😡 😮 😴 🙂 🙃 😇 🥰 😘 🤗 🙏 " +
    "👍 👎 👌 👏 🙌 💪 👋 🤝 ❤️ 💔 🔥 ⭐ 🎉 ✅ ❌ ❓ 💯 ☕ 🎁 🚀"
  ).split(" ");

  const CIRCLE = "M22 12a10 10 0 1 1-20 0 10 10 0 0 1 20 0z";
  const ICONS = {
    chat: "M6 4h12a3 3 0 0 1 3 3v8a3 3 0 0 1-3 3h-7l-5 4v-4a3 3 0 0 1-3-3V7a3 3 0 0 1 3-3z",
    down: "M6 9l6 6 6-6",
    x: "M18 6 6 18M6 6l12 12",
    send: "M22 2 11 13M22 2l-7 20-4-9-9-4z",
    clip:
      "m21.4 11.1-9.2 9.1a6 6 0 0 1-8.5-8.5l9.2-9.1a4 4 0 0 1 5.7 5.6l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5",
    smile: `${CIRCLE}M8 14s1.5 2 4 2 4-2 4-2M9 9h.01M15 9h.01`,
    pending: `${CIRCLE}M12 6v6l4 2`,
    sent: "M20 6 9 17l-5-5",
    read: "M1.5 12.5 6 17 16.5 6.5M11 16l1 1L22.5 6.5",
    failed: `${CIRCLE}M15 9l-6 6M9 9l6 6`,
    file: "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zM14 2v6h6",
  };

  // Everything is in px: rem would follow the host page's root font size.
  const STYLES = `
:host{all:initial}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
.bw-root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif,"Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji";font-size:14px;line-height:20px;font-weight:400;color:#1f2328;text-align:left;letter-spacing:normal;text-transform:none;white-space:normal;-webkit-font-smoothing:antialiased}
button,input,textarea{font:inherit;color:inherit;letter-spacing:inherit;text-transform:none;margin:0}
button{cursor:pointer;background:none;border:0;padding:0}
:focus-visible{outline:2px solid var(--bw-accent,#1f6feb);outline-offset:2px}
.bw-i{width:20px;height:20px;flex:none;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.bw-launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;display:flex;align-items:center;justify-content:center;background:var(--bw-accent,#1f6feb);color:var(--bw-on-accent,#fff);box-shadow:0 4px 16px rgba(0,0,0,.2);transition:transform .15s ease}
.bw-launcher:hover{transform:scale(1.06)}
.bw-launcher .bw-i{width:28px;height:28px}
.bw-launcher .bw-i-chat{fill:currentColor;stroke:none}
.bw-launcher .bw-i-down,.bw-open .bw-launcher .bw-i-chat{display:none}
.bw-open .bw-launcher .bw-i-down{display:block}
.bw-badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#e5484d;color:#fff;font-size:12px;line-height:20px;font-weight:600;text-align:center;box-shadow:0 0 0 2px #fff}
.bw-panel{position:fixed;right:20px;bottom:88px;width:380px;max-width:calc(100vw - 40px);height:600px;max-height:calc(100vh - 108px);display:flex;flex-direction:column;overflow:hidden;background:#fff;border-radius:16px;box-shadow:0 12px 48px rgba(0,0,0,.18),0 0 0 1px rgba(0,0,0,.05);animation:bw-in .18s ease-out}
.bw-left .bw-launcher,.bw-left .bw-panel{right:auto;left:20px}
@keyframes bw-in{from{opacity:0;transform:translateY(8px)}}
.bw-head{display:flex;align-items:center;gap:12px;padding:14px 12px 14px 16px;border-bottom:1px solid #eceef1;flex:none}
.bw-head-text{flex:1;min-width:0}
.bw-title{font-size:15px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bw-presence{display:flex;align-items:center;gap:6px;font-size:12px;color:#6b7280}
.bw-presence::before{content:"";width:8px;height:8px;border-radius:50%;background:#9ca3af}
.bw-online .bw-presence::before{background:#22c55e}
.bw-avatar{width:36px;height:36px;border-radius:50%;flex:none;display:flex;align-items:center;justify-content:center;object-fit:cover;background:var(--bw-accent,#1f6feb);color:var(--bw-on-accent,#fff);font-size:16px;font-weight:600}
.bw-icon-btn{width:36px;height:36px;border-radius:8px;flex:none;display:flex;align-items:center;justify-content:center;color:#6b7280}
.bw-icon-btn:hover{background:#f3f4f6;color:#1f2328}
.bw-log{flex:1;overflow-y:auto;overscroll-behavior:contain;padding:12px 16px 16px;display:flex;flex-direction:column}
.bw-away{margin-bottom:8px;padding:10px 12px;border-radius:10px;background:#fff8e6;color:#6b4e00;font-size:13px}
.bw-more{align-self:center;margin-bottom:4px;padding:4px 10px;border-radius:12px;font-size:13px;color:#4b5563}
.bw-more:hover{background:#f3f4f6}
.bw-day{align-self:center;margin:12px 0 0;font-size:12px;color:#6b7280}
.bw-msg{display:flex;flex-direction:column;max-width:82%;margin-top:12px}
.bw-msg.bw-cont{margin-top:3px}
.bw-company{align-self:flex-start;align-items:flex-start}
.bw-visitor{align-self:flex-end;align-items:flex-end}
.bw-who{display:flex;align-items:center;gap:6px;margin:0 0 4px 2px;font-size:12px;color:#6b7280}
.bw-who .bw-avatar{width:20px;height:20px;font-size:11px}
.bw-bubble{max-width:100%;padding:8px 12px;border-radius:16px;background:#f1f3f5;overflow-wrap:anywhere}
.bw-visitor .bw-bubble{background:var(--bw-accent,#1f6feb);color:var(--bw-on-accent,#fff)}
.bw-text{white-space:pre-wrap}
.bw-text a{color:inherit;text-decoration:underline}
.bw-deleted .bw-bubble{background:none;border:1px dashed #d0d4da;color:#6b7280;font-style:italic}
.bw-meta{display:flex;align-items:center;gap:4px;margin:2px 6px 0;font-size:11px;line-height:16px;color:#8a9099}
.bw-status{display:flex}
.bw-status .bw-i{width:14px;height:14px}
.bw-status[data-status=read]{color:#2563eb}
.bw-status[data-status=failed],.bw-fail,.bw-retry{color:#d92d20}
.bw-fail{display:flex;flex-wrap:wrap;justify-content:flex-end;gap:0 6px;margin:2px 6px 0;font-size:12px}
.bw-retry{text-decoration:underline;font-size:12px}
.bw-files{display:flex;flex-direction:column;gap:4px}
.bw-quick{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px;max-width:100%}
.bw-quick-btn{max-width:100%;padding:6px 12px;border-radius:16px;border:1px solid var(--bw-accent,#1f6feb);color:var(--bw-accent,#1f6feb);font-size:13px;overflow-wrap:anywhere;text-align:left}
.bw-quick-btn:hover{background:var(--bw-accent,#1f6feb);color:var(--bw-on-accent,#fff)}
.bw-text+.bw-files{margin-top:6px}
.bw-chip{display:flex;align-items:center;gap:8px;max-width:100%;padding:6px 10px;border-radius:10px;background:rgba(127,127,127,.16);font-size:13px;text-align:left}
.bw-chip .bw-i{width:16px;height:16px}
.bw-chip-name{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bw-chip-size{flex:none;font-size:12px;opacity:.7}
.bw-chip-x{display:flex;border-radius:4px;opacity:.7}
.bw-chip-x:hover{opacity:1}
.bw-busy{opacity:.55}
.bw-notice{margin:0 16px 8px;padding:8px 12px;border-radius:8px;background:#fdecea;color:#b42318;font-size:13px;flex:none}
.bw-prechat{display:flex;flex-direction:column;gap:8px;padding:12px 16px;border-top:1px solid #eceef1;flex:none}
.bw-prechat p{margin:0;font-size:13px;color:#4b5563}
.bw-field{display:flex;flex-direction:column;gap:2px}
.bw-field label{display:flex;flex-direction:column;gap:2px;font-size:12px;color:#4b5563}
.bw-field input{width:100%;padding:7px 10px;border:1px solid #d0d4da;border-radius:8px;background:#fff;color:#1f2328;font-size:14px;outline:none}
.bw-field input:focus{border-color:var(--bw-accent,#1f6feb)}
.bw-field input[aria-invalid=true]{border-color:#d92d20}
.bw-field-error{font-size:12px;color:#d92d20}
.bw-start{padding:8px 12px;border-radius:8px;background:var(--bw-accent,#1f6feb);color:var(--bw-on-accent,#fff);font-weight:600}
.bw-composer{position:relative;padding:8px 8px 8px 12px;border-top:1px solid #eceef1;flex:none}
.bw-chips{display:flex;flex-wrap:wrap;gap:6px;margin:2px 4px 8px 0}
.bw-chips .bw-chip{max-width:100%}
.bw-row{display:flex;align-items:flex-end;gap:2px}
.bw-input{flex:1;min-width:0;height:36px;min-height:36px;max-height:${INPUT_MAX_HEIGHT}px;padding:8px 4px;border:0;outline:none;resize:none;overflow-y:auto;background:none;font-size:14px;line-height:20px}
.bw-input::placeholder{color:#9aa0a6}
.bw-send{color:var(--bw-accent,#1f6feb)}
.bw-empty .bw-send{color:#9aa0a6}
.bw-emoji{position:absolute;right:8px;bottom:calc(100% + 4px);display:grid;grid-template-columns:repeat(8,34px);gap:2px;padding:8px;border-radius:12px;background:#fff;box-shadow:0 8px 32px rgba(0,0,0,.16),0 0 0 1px rgba(0,0,0,.05)}
.bw-emoji button{width:34px;height:34px;border-radius:6px;font-size:20px;line-height:34px;text-align:center}
.bw-emoji button:hover,.bw-emoji button:focus{background:#f1f3f5}
@media (max-width:499px){
.bw-root .bw-panel{inset:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0}
.bw-open .bw-launcher{display:none}
.bw-composer{padding-bottom:max(8px,env(safe-area-inset-bottom))}
.bw-input,.bw-field input{font-size:16px}
}
@media (prefers-reduced-motion:reduce){.bw-panel{animation:none}.bw-launcher{transition:none}}
`;

  // Inline !important beats the host page's !important rules; `all` also stops inherited
  // properties (font, colour, visibility, pointer-events…) flowing into the shadow root. The
  // properties that would trap the panel's fixed positioning are repeated in case `all` is not
  // understood here.
  const HOST_STYLE = {
    all: "initial",
    display: "block",
    position: "fixed",
    "z-index": "2147483000",
    top: "auto",
    left: "auto",
    right: "0",
    bottom: "0",
    width: "0",
    height: "0",
    margin: "0",
    padding: "0",
    border: "0",
    overflow: "visible",
    transform: "none",
    filter: "none",
    contain: "none",
    opacity: "1",
    visibility: "visible",
    "pointer-events": "auto",
    direction: "ltr",
  };

  // ---- State ----------------------------------------------------------------------------------

  let T = I18N.en;
  let ui = {};
  let pendingOpen = false;

  const S = {
    cfg: null,
    lang: "en",
    token: load(TOKEN_KEY),
    session: null, // promise of the running session
    renewing: null,
    hasDialog: null, // null while unknown
    msgs: [], // records, see fromServer(); local ones have id null
    seq: 0,
    hasMore: false,
    loadingOlder: false,
    lastEventId: null,
    live: false,
    open: false,
    seen: Number(load(SEEN_KEY)) || 0, // newest company message the visitor has seen
    readPosted: 0,
    prechatDone: false,
    prechatFields: null,
    files: [], // attachments in the composer: {file, meta, promise}
    submitting: false,
  };

  const live = {
    ws: null,
    abort: null, // the long-poll request in flight
    timer: 0,
    attempt: 0,
    wsFailures: 0,
    everOpened: false,
    poll: false,
    gen: 0, // bumped on every stop, so a superseded connection quietly ends
  };

  // ---- Small helpers --------------------------------------------------------------------------

  // Storage may be disabled or full; the widget then just forgets the visitor between pages.
  function load(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  }

  function store(key, value) {
    try {
      if (value == null) localStorage.removeItem(key);
      else localStorage.setItem(key, String(value));
    } catch {
      // see load()
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const fmt = (text, vars) => text.replace(/\{(\w+)\}/g, (_, name) => vars[name]);
  const isHttpUrl = (url) => typeof url === "string" && /^https?:\/\//i.test(url);

  function backoff() {
    const base = Math.min(30000, 1000 * 2 ** live.attempt++);
    return base * (0.75 + Math.random() * 0.5);
  }

  function randomId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Attributes only: a "style" attribute is never set (CSP would reject it).
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (typeof value === "function") el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : value);
    }
    el.append(...present(children));
    return el;
  }

  // Optional children are written as `condition && node`; append() would turn the leftovers into
  // text ("null", "false").
  const present = (nodes) => nodes.filter((node) => node != null && node !== false && node !== "");

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", `bw-i bw-i-${name}`);
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  const iconButton = (name, label, onclick, cls = "") =>
    h("button", { type: "button", class: `bw-icon-btn ${cls}`, "aria-label": label, onclick }, icon(name));

  function letterAvatar(name) {
    const letter = (String(name).trim()[0] || "?").toUpperCase();
    return h("span", { class: "bw-avatar", "aria-hidden": "true", text: letter });
  }

  function formatSize(bytes) {
    const units = T.units.split(",");
    let n = Number(bytes) || 0;
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    const number = new Intl.NumberFormat(S.lang, { maximumFractionDigits: i ? 1 : 0 });
    return `${number.format(n)} ${units[i]}`;
  }

  let timeFormat = null;
  function formatTime(at) {
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    timeFormat = timeFormat || new Intl.DateTimeFormat(S.lang, options);
    return timeFormat.format(at);
  }

  function dayLabel(at) {
    const day = new Date(at);
    const now = new Date();
    const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate());
    const ago = Math.round((midnight(now) - midnight(day)) / 864e5);
    if (ago === 0) return T.today;
    if (ago === 1) return T.yesterday;
    const year = day.getFullYear() === now.getFullYear() ? undefined : "numeric";
    return new Intl.DateTimeFormat(S.lang, { day: "numeric", month: "long", year }).format(day);
  }

  // Links become clickable only when they are plain http(s) URLs; the rest stays text.
  const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
  function linkify(text) {
    const parts = [];
    let at = 0;
    for (const match of text.matchAll(URL_RE)) {
      const url = match[0].replace(/[.,;:!?)\]}]+$/, "");
      if (match.index > at) parts.push(text.slice(at, match.index));
      parts.push(
        isHttpUrl(url)
          ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url })
          : url,
      );
      at = match.index + url.length;
    }
    parts.push(text.slice(at));
    return parts;
  }

  // ---- Server ---------------------------------------------------------------------------------

  class HttpError extends Error {
    constructor(status, message, extra = {}) {
      super(message);
      Object.assign(this, { status, retryAfter: 0, generic: false, aborted: false }, extra);
    }
  }

  const isTransient = (e) => e.status === 0 || e.status === 429 || e.status >= 500;

  // Retries network failures, 5xx and 429 (after Retry-After) a few times. Retrying a message is
  // safe: the server recognises it by its client_id.
  async function api(method, path, opts = {}) {
    const tries = opts.tries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return await request(method, path, opts);
      } catch (e) {
        if (e.aborted || !isTransient(e) || attempt >= tries) throw e;
        await sleep(e.retryAfter || 1000 * 2 ** (attempt + 1));
      }
    }
  }

  async function request(method, path, { body, form, auth = true, signal, raw = false }) {
    const headers = {};
    if (auth && S.token) headers.authorization = `Bearer ${S.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await fetch(API + path, {
        method,
        headers,
        signal,
        credentials: "omit",
        body: form || (body === undefined ? undefined : JSON.stringify(body)),
      });
    } catch (err) {
      throw new HttpError(0, T.network, { aborted: err?.name === "AbortError" });
    }
    if (!res.ok) throw await httpError(res);
    if (raw) return res;
    return res.status === 204 ? null : res.json().catch(() => null);
  }

  async function httpError(res) {
    const data = await res.json().catch(() => null);
    // Retry-After is readable cross-origin only if the server exposes it; otherwise back off.
    const seconds = Number(res.headers.get("retry-after"));
    return new HttpError(res.status, data?.message || `${T.error} (${res.status})`, {
      retryAfter: seconds > 0 ? Math.min(seconds, 600) * 1000 : 0,
      generic: !data?.message,
    });
  }

  // ---- Visitor session ----------------------------------------------------------------------

  function ensureSession() {
    if (!S.session) {
      S.session = startSession().catch((e) => {
        S.session = null;
        throw e;
      });
    }
    return S.session;
  }

  async function startSession() {
    const res = await api("POST", "/sessions", { body: { token: S.token, user: USER }, auth: false });
    if (!res?.token) throw new HttpError(0, T.error);
    if (res.token !== S.token) {
      S.token = res.token;
      store(TOKEN_KEY, res.token);
    }
    S.hasDialog = !!res.has_dialog;
    await loadHistory();
    connectLive();
  }

  function retrySession() {
    clearTimeout(live.timer);
    live.timer = setTimeout(
      () => ensureSession().catch((e) => isTransient(e) && retrySession()),
      backoff(),
    );
  }

  // The token was rejected: forget it (and what it could see) and start afresh.
  function renewSession() {
    if (!S.renewing) {
      stopLive();
      S.token = null;
      store(TOKEN_KEY, null);
      S.session = null;
      S.hasDialog = false;
      S.msgs = S.msgs.filter((rec) => rec.id == null);
      S.lastEventId = null;
      S.hasMore = false;
      render();
      S.renewing = ensureSession().finally(() => {
        S.renewing = null;
      });
    }
    return S.renewing;
  }

  // Runs a bearer request once the visitor session exists, starting a new one if the token was
  // rejected.
  async function withSession(call) {
    await ensureSession();
    try {
      return await call();
    } catch (e) {
      if (e.status !== 401) throw e;
      await renewSession();
      return call();
    }
  }

  // ---- Messages -------------------------------------------------------------------------------

  function fromServer(m) {
    return {
      id: m.id,
      clientId: m.client_id || null,
      from: m.from === "visitor" ? "visitor" : "company",
      text: String(m.text ?? ""),
      at: Number(m.created_at) || Date.now(),
      agent: m.agent?.name ? String(m.agent.name) : "",
      status: m.status === "read" || m.status === "sent" ? m.status : null,
      files: Array.isArray(m.attachments) ? m.attachments : [],
      edited: !!m.edited,
      deleted: !!m.deleted,
      buttons: Array.isArray(m.buttons) ? m.buttons.map(String) : [],
    };
  }

  // Adds or updates a message; a local pending copy is found by its client_id. Returns whether
  // the message is new here.
  function upsert(m) {
    if (!m || m.id == null) return false;
    const data = fromServer(m);
    let rec =
      S.msgs.find((r) => r.id === data.id) ||
      (data.clientId && S.msgs.find((r) => r.id == null && r.clientId === data.clientId));
    const isNew = !rec;
    if (!rec) {
      rec = { seq: ++S.seq };
      S.msgs.push(rec);
    }
    // A read receipt may have overtaken this copy: two ticks never turn back into one.
    if (rec.status === "read" && data.status === "sent") data.status = "read";
    Object.assign(rec, data, { local: null, error: "" });
    return isNew;
  }

  function applyRead(upTo) {
    for (const rec of S.msgs) {
      if (rec.from === "visitor" && rec.id != null && rec.id <= upTo) rec.status = "read";
    }
  }

  async function loadHistory() {
    const res = await api("GET", `/messages?limit=${PAGE}`);
    const list = Array.isArray(res?.messages) ? res.messages : [];
    // Messages up to the newest one listed are replaced; newer ones (live events that arrived
    // meanwhile) and unsent local ones stay.
    const newest = list.length ? Math.max(...list.map((m) => m.id)) : Infinity;
    S.msgs = S.msgs.filter((rec) => rec.id == null || rec.id > newest);
    list.forEach(upsert);
    S.hasMore = list.length >= PAGE;
    if (res?.last_event_id !== undefined) S.lastEventId = res.last_event_id;
    if (S.msgs.some((rec) => rec.id != null)) S.hasDialog = true;
    render({ bottom: true });
  }

  async function loadOlder() {
    const oldest = S.msgs.reduce((min, rec) => (rec.id != null && rec.id < min ? rec.id : min), Infinity);
    if (!S.hasMore || S.loadingOlder || oldest === Infinity) return;
    S.loadingOlder = true;
    try {
      const res = await withSession(() => api("GET", `/messages?before=${oldest}&limit=${PAGE}`));
      const list = Array.isArray(res?.messages) ? res.messages : [];
      const { scrollHeight, scrollTop } = ui.log;
      list.forEach(upsert);
      S.hasMore = list.length >= PAGE;
      render({ keep: true });
      // Keep the message the visitor was looking at in place.
      ui.log.scrollTop = scrollTop + ui.log.scrollHeight - scrollHeight;
    } catch (e) {
      notice(e.message);
    } finally {
      S.loadingOlder = false;
    }
  }

  function pageTitle() {
    return flash.shown !== null && document.title === flash.shown ? flash.saved : document.title;
  }

  function localMessage(text, files) {
    const clientId = randomId();
    const payload = {
      client_id: clientId,
      text,
      attachments: files.map((f) => f.id),
      page: { url: location.href, referrer: document.referrer, title: pageTitle() },
    };
    // Contact details go with the first message, that is every one until the server takes one
    // (it refuses a first message without the required fields).
    if (S.prechatFields) payload.fields = S.prechatFields;
    return {
      seq: ++S.seq,
      id: null,
      clientId,
      from: "visitor",
      text,
      at: Date.now(),
      agent: "",
      status: null,
      files,
      edited: false,
      deleted: false,
      buttons: [],
      local: "pending",
      error: "",
      payload,
    };
  }

  async function submit() {
    if (S.submitting) return;
    if (!ui.input.value.trim() && !S.files.length) return ui.input.focus();
    S.submitting = true;
    try {
      await Promise.all(S.files.map((item) => item.promise));
      if (S.hasDialog === null) await ensureSession().catch(() => {});
      if (needsPrechat() && !acceptPrechat()) return;
      const text = ui.input.value.trim();
      const files = S.files.filter((item) => item.meta).map((item) => item.meta);
      if (!text && !files.length) return;
      const rec = localMessage(text, files);
      S.msgs.push(rec);
      ui.input.value = "";
      S.files = [];
      renderChips();
      onInput();
      render({ bottom: true });
      deliver(rec);
    } finally {
      S.submitting = false;
    }
  }

  // A tap on a bot's quick reply answers with its label, whatever the composer holds.
  function quickReply(label) {
    if (needsPrechat() && !acceptPrechat()) return;
    const rec = localMessage(label, []);
    S.msgs.push(rec);
    render({ bottom: true });
    deliver(rec);
  }

  // Sends (or re-sends, with the same client_id) a local message.
  async function deliver(rec) {
    rec.local = "pending";
    rec.error = "";
    render();
    try {
      const m = await withSession(() => api("POST", "/messages", { body: rec.payload }));
      S.hasDialog = true;
      S.prechatFields = null;
      // Were the message not recognised by its client_id, the local copy would linger.
      if (upsert(m)) S.msgs = S.msgs.filter((other) => other !== rec);
    } catch (e) {
      // A live event may have confirmed the message meanwhile.
      if (rec.local === "pending") {
        rec.local = "failed";
        rec.error = e.message;
      }
    }
    render();
  }

  // ---- Files ----------------------------------------------------------------------------------

  function addFiles(list) {
    const max = S.cfg.maxFile;
    for (const file of list) {
      if (max && file.size > max) {
        notice(fmt(T.tooLarge, { name: file.name, max: formatSize(max) }));
        continue;
      }
      const item = { file, meta: null };
      item.promise = upload(item);
      S.files.push(item);
    }
    renderChips();
  }

  async function upload(item) {
    try {
      const form = new FormData();
      form.append("file", item.file, item.file.name);
      const res = await withSession(() => api("POST", "/files", { form }));
      item.meta = Array.isArray(res) ? res[0] : null;
      if (!item.meta) throw new HttpError(0, T.error);
    } catch (e) {
      const max = formatSize(S.cfg.maxFile || item.file.size);
      notice(e.status === 413 && e.generic ? fmt(T.tooLarge, { name: item.file.name, max }) : e.message);
      S.files = S.files.filter((other) => other !== item);
    }
    renderChips();
  }

  function removeFile(item) {
    S.files = S.files.filter((other) => other !== item);
    renderChips();
    ui.input.focus();
  }

  // An <img> cannot send the bearer token and blob: images may be blocked by CSP, so files are
  // fetched and handed to the browser as a download.
  async function download(file, button) {
    button.classList.add("bw-busy");
    try {
      const res = await withSession(() => api("GET", `/files/${file.id}`, { raw: true }));
      const url = URL.createObjectURL(await res.blob());
      const link = h("a", { href: url, download: file.file_name || "file", hidden: true });
      ui.root.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) {
      notice(e.message);
    } finally {
      button.classList.remove("bw-busy");
    }
  }

  // ---- Live events ----------------------------------------------------------------------------

  function setLive(on) {
    S.live = on;
    if (ui.host) ui.host.dataset.state = on ? "live" : "ready";
  }

  function connectLive() {
    stopLive();
    if (!S.token) return;
    if (live.poll) poll(live.gen);
    else openSocket();
  }

  function stopLive() {
    live.gen++;
    clearTimeout(live.timer);
    const ws = live.ws;
    live.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.close();
    }
    live.abort?.abort();
    setLive(false);
  }

  function reconnectLater(delay) {
    clearTimeout(live.timer);
    live.timer = setTimeout(connectLive, delay || backoff());
  }

  function openSocket() {
    let ws;
    let opened = false;
    try {
      ws = new WebSocket(LIVE_URL);
    } catch {
      return socketClosed(false);
    }
    live.ws = ws;
    ws.onopen = () => {
      opened = live.everOpened = true;
      ws.send(JSON.stringify({ token: S.token, after: S.lastEventId }));
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame?.type === "ready") {
        live.attempt = 0;
        setLive(true);
      } else {
        handleFrames([frame]).catch(() => reconnectLater());
      }
    };
    ws.onclose = (event) => {
      if (live.ws !== ws) return;
      live.ws = null;
      setLive(false);
      if (event.code === 4401) renewSession().catch(retrySession);
      else socketClosed(opened);
    };
  }

  // Some networks and proxies never let a WebSocket through: after two failures without ever
  // connecting, long-polling takes over for the rest of the page's life.
  function socketClosed(opened) {
    if (!opened && !live.everOpened && ++live.wsFailures >= 2) {
      live.poll = true;
      return connectLive();
    }
    reconnectLater();
  }

  async function poll(gen) {
    while (gen === live.gen && S.token) {
      const abort = (live.abort = new AbortController());
      const timeout = setTimeout(() => abort.abort(), 40000); // the server answers within 25 s
      setLive(true);
      try {
        const after = S.lastEventId == null ? "" : `?after=${S.lastEventId}`;
        const res = await api("GET", `/events${after}`, { signal: abort.signal, tries: 0 });
        if (gen !== live.gen) return;
        live.attempt = 0;
        await handleFrames(res?.events || [], res?.last_event_id);
      } catch (e) {
        if (gen !== live.gen) return;
        setLive(false);
        if (e.status === 401) renewSession().catch(retrySession);
        else reconnectLater(e.retryAfter);
        return;
      } finally {
        clearTimeout(timeout);
      }
    }
  }

  async function handleFrames(frames, lastEventId) {
    const fresh = [];
    let resync = false;
    for (const frame of frames) {
      if (!frame || typeof frame !== "object") continue;
      if (typeof frame.id === "number" && !(frame.id <= S.lastEventId)) S.lastEventId = frame.id;
      if (frame.type === "message" && upsert(frame.message)) fresh.push(frame.message);
      else if (frame.type === "read") applyRead(Number(frame.up_to));
      else if (frame.type === "resync") resync = true;
    }
    if (lastEventId != null && !resync) S.lastEventId = lastEventId;
    render();
    announce(fresh);
    if (resync) await loadHistory();
  }

  // ---- Attention: badge, sound, title ---------------------------------------------------------

  // The server keeps no read state of company messages for the visitor: what was seen is
  // remembered in this browser (and shared by its tabs).
  const unreadCount = () =>
    S.msgs.filter((rec) => rec.from === "company" && !rec.deleted && rec.id > S.seen).length;

  function updateBadge() {
    const n = S.open ? 0 : unreadCount();
    ui.badge.textContent = n > 99 ? "99+" : String(n);
    ui.badge.hidden = !n;
  }

  // Marks what the visitor can actually see as read: panel open and tab visible.
  function markRead() {
    if (!S.open || document.hidden || !S.token) return;
    const newest = S.msgs.reduce((max, rec) => (rec.from === "company" && rec.id > max ? rec.id : max), 0);
    if (newest > S.seen) {
      S.seen = newest;
      store(SEEN_KEY, newest);
    }
    if (newest > S.readPosted) {
      S.readPosted = newest;
      api("POST", "/read", { body: { up_to: newest } }).catch(() => {
        S.readPosted = 0;
      });
    }
    updateBadge();
  }

  function announce(messages) {
    if (!messages.some((m) => m.from === "company" && !m.deleted)) return;
    if (S.open && !document.hidden) return;
    beep();
    if (document.hidden) startFlash();
  }

  // Browsers allow sound only from an AudioContext created during a user gesture.
  let audio = null;
  let lastBeep = 0;
  const GESTURES = ["pointerdown", "keydown"];
  function unlockAudio() {
    GESTURES.forEach((type) => removeEventListener(type, unlockAudio, true));
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (Context) audio = new Context();
    } catch {
      // no sound then
    }
  }

  function beep() {
    if (!audio || Date.now() - lastBeep < 1500) return;
    lastBeep = Date.now();
    try {
      if (audio.state === "suspended") audio.resume().catch(() => {});
      const now = audio.currentTime;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, now);
      osc.frequency.exponentialRampToValueAtTime(660, now + 0.2);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.08, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(now);
      osc.stop(now + 0.32);
    } catch {
      // a missed beep is harmless
    }
  }

  // While the tab is hidden its title alternates with "(n) New message".
  const flash = { timer: 0, saved: "", shown: null };
  function startFlash() {
    if (!flash.timer) {
      flashTick();
      flash.timer = setInterval(flashTick, 1000);
    }
  }

  function flashTick() {
    if (flash.shown !== null && document.title === flash.shown) {
      document.title = flash.saved;
      flash.shown = null;
    } else {
      flash.saved = document.title; // picks up titles the page set meanwhile
      flash.shown = `(${unreadCount() || 1}) ${T.newMessage}`;
      document.title = flash.shown;
    }
  }

  function stopFlash() {
    clearInterval(flash.timer);
    flash.timer = 0;
    if (flash.shown !== null && document.title === flash.shown) document.title = flash.saved;
    flash.shown = null;
  }

  // ---- Rendering ------------------------------------------------------------------------------

  function render(opts) {
    renderLog(opts);
    updateBadge();
    if (ui.prechat) ui.prechat.hidden = !needsPrechat();
    markRead();
  }

  const nearBottom = () => ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;

  function renderLog({ bottom = false, keep = false } = {}) {
    const stick = !keep && (bottom || nearBottom());
    S.msgs.sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity) || a.seq - b.seq);
    const nodes = [ui.away, S.hasMore && ui.more, ui.greeting].filter(Boolean);
    let prev = null;
    let prevDay = "";
    const newest = S.msgs[S.msgs.length - 1];
    for (const rec of S.msgs) {
      const day = new Date(rec.at).toDateString();
      if (day !== prevDay) {
        nodes.push(daySeparator(day, rec.at));
        prevDay = day;
        prev = null;
      }
      const first = !prev || prev.from !== rec.from || prev.agent !== rec.agent;
      drawMessage(rec, first, rec === newest);
      nodes.push(rec.el);
      prev = rec;
    }
    reconcile(ui.log, nodes);
    if (stick) ui.log.scrollTop = ui.log.scrollHeight;
  }

  // Moves only the nodes that are out of place, so focus and scroll survive an update.
  function reconcile(parent, nodes) {
    nodes.forEach((node, i) => {
      const current = parent.children[i];
      if (current !== node) parent.insertBefore(node, current || null);
    });
    while (parent.children.length > nodes.length) parent.lastElementChild.remove();
  }

  const days = new Map();
  function daySeparator(key, at) {
    if (!days.has(key)) days.set(key, h("div", { class: "bw-day" }));
    const el = days.get(key);
    const label = dayLabel(at);
    if (el.textContent !== label) el.textContent = label;
    return el;
  }

  function drawMessage(rec, first, newest) {
    // Quick replies are offered under the newest message only: an answer retires them.
    const buttons = newest && rec.from === "company" ? rec.buttons : [];
    const sig = JSON.stringify([
      rec.id, rec.text, rec.status, rec.local, rec.error, rec.edited, rec.deleted, rec.agent,
      rec.at, rec.files.map((f) => f.id), first, buttons,
    ]);
    if (rec.el && rec.sig === sig) return;
    rec.sig = sig;
    if (!rec.el) rec.el = h("div");
    rec.el.className =
      `bw-msg bw-${rec.from}${first ? "" : " bw-cont"}${rec.deleted ? " bw-deleted" : ""}`;
    if (rec.id != null) rec.el.dataset.id = rec.id;
    rec.el.replaceChildren(
      ...present([
        first && rec.from === "company" && who(rec.agent || S.cfg.title),
        bubble(rec),
        meta(rec),
        rec.local === "failed" && failure(rec),
        buttons.length > 0 && quickReplies(buttons),
      ]),
    );
  }

  function quickReplies(labels) {
    return h(
      "div",
      { class: "bw-quick", role: "group" },
      ...labels.map((label) =>
        h("button", { type: "button", class: "bw-quick-btn", text: label, onclick: () => quickReply(label) }),
      ),
    );
  }

  function who(name) {
    return h("div", { class: "bw-who" }, letterAvatar(name), h("span", { class: "bw-agent", text: name }));
  }

  function bubble(rec) {
    if (rec.deleted) return h("div", { class: "bw-bubble" }, h("div", { class: "bw-text", text: T.deleted }));
    return h(
      "div",
      { class: "bw-bubble" },
      rec.text && h("div", { class: "bw-text" }, ...linkify(rec.text)),
      rec.files.length > 0 && h("div", { class: "bw-files" }, ...rec.files.map(fileChip)),
    );
  }

  function meta(rec) {
    const at = new Date(rec.at);
    return h(
      "div",
      { class: "bw-meta" },
      h("time", { datetime: at.toISOString(), text: formatTime(at) }),
      rec.edited && !rec.deleted && h("span", { text: `· ${T.edited}` }),
      rec.from === "visitor" && statusMark(rec),
    );
  }

  function statusMark(rec) {
    const status = rec.local || (rec.status === "read" ? "read" : "sent");
    return h(
      "span",
      { class: "bw-status", "data-status": status, role: "img", "aria-label": T[status], title: T[status] },
      icon(status),
    );
  }

  function failure(rec) {
    return h(
      "div",
      { class: "bw-fail", role: "alert" },
      rec.error && h("span", { text: rec.error }),
      h("button", { type: "button", class: "bw-retry", text: T.retry, onclick: () => deliver(rec) }),
    );
  }

  function fileChip(file) {
    const name = String(file.file_name || "file");
    const size = formatSize(file.size_bytes);
    const button = h(
      "button",
      { type: "button", class: "bw-chip", title: `${T.download}: ${name}` },
      icon("file"),
      h("span", { class: "bw-chip-name", text: name }),
      h("span", { class: "bw-chip-size", text: size }),
    );
    button.addEventListener("click", () => download(file, button));
    return button;
  }

  function renderChips() {
    ui.chips.replaceChildren(...S.files.map(composerChip));
    ui.chips.hidden = !S.files.length;
    onInput();
  }

  function composerChip(item) {
    const name = item.file.name;
    return h(
      "div",
      { class: `bw-chip${item.meta ? "" : " bw-busy"}`, "aria-busy": item.meta ? null : "true" },
      icon("file"),
      h("span", { class: "bw-chip-name", text: name }),
      h("span", { class: "bw-chip-size", text: formatSize(item.file.size) }),
      h(
        "button",
        {
          type: "button",
          class: "bw-chip-x",
          "aria-label": fmt(T.remove, { name }),
          onclick: () => removeFile(item),
        },
        icon("x"),
      ),
    );
  }

  let noticeTimer = 0;
  function notice(text) {
    ui.notice.textContent = text;
    ui.notice.hidden = !text;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => (ui.notice.hidden = true), 8000);
  }

  // ---- Pre-chat form --------------------------------------------------------------------------

  const FIELDS = {
    name: { type: "text", autocomplete: "name", maxlength: "200" },
    phone: { type: "tel", autocomplete: "tel", maxlength: "50" },
    email: { type: "email", autocomplete: "email", maxlength: "254" },
  };

  const fieldMode = (name) => S.cfg.prechat[name] || "off";

  const needsPrechat = () =>
    !!ui.prechat && !S.prechatDone && S.hasDialog === false && !S.msgs.some((rec) => rec.id != null);

  function buildPrechat() {
    const names = Object.keys(FIELDS).filter((name) => fieldMode(name) !== "off");
    if (!names.length) return null;
    const form = h(
      "form",
      { class: "bw-prechat", novalidate: true, hidden: true },
      h("p", { text: T.intro }),
      ...names.map(prechatField),
      h("button", { type: "submit", class: "bw-start", text: T.start }),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!acceptPrechat()) return;
      ui.input.focus(); // the form disappears with the focus on its button
      if (ui.input.value.trim() || S.files.length) submit();
    });
    form.addEventListener("input", (event) => {
      if (event.target.getAttribute("aria-invalid")) checkField(event.target);
    });
    return form;
  }

  function prechatField(name) {
    const required = fieldMode(name) === "required";
    const error = h("span", { class: "bw-field-error", id: `bw-error-${name}`, hidden: true });
    const input = h("input", {
      name,
      ...FIELDS[name],
      required,
      "aria-required": required && "true",
      "aria-describedby": error.id,
    });
    const label = h("label", {}, h("span", { text: required ? `${T[name]} *` : T[name] }), input);
    return h("div", { class: "bw-field" }, label, error);
  }

  function fieldError(name, value) {
    if (!value) return fieldMode(name) === "required" ? T.required : "";
    if (name === "email" && !/^[^\s@]+@[^\s@]+$/.test(value)) return T.badEmail;
    if (name === "phone" && (value.match(/\d/g) || []).length < 5) return T.badPhone;
    return "";
  }

  function checkField(input) {
    const error = fieldError(input.name, input.value.trim());
    const box = input.getAttribute("aria-describedby");
    const errorEl = ui.prechat.querySelector(`#${box}`);
    errorEl.textContent = error;
    errorEl.hidden = !error;
    if (error) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    return !error;
  }

  // Validates the form; when valid its values wait for the first message.
  function acceptPrechat() {
    const inputs = [...ui.prechat.querySelectorAll("input")];
    const invalid = inputs.filter((input) => !checkField(input));
    if (invalid.length) {
      invalid[0].focus();
      return false;
    }
    const fields = {};
    for (const input of inputs) if (input.value.trim()) fields[input.name] = input.value.trim();
    S.prechatFields = Object.keys(fields).length ? fields : null;
    S.prechatDone = true;
    render();
    return true;
  }

  // ---- Composer -------------------------------------------------------------------------------

  function onInput() {
    const input = ui.input;
    input.style.height = "auto"; // CSSOM, which CSP allows
    input.style.height = `${Math.min(input.scrollHeight, INPUT_MAX_HEIGHT)}px`;
    ui.composer.classList.toggle("bw-empty", !input.value.trim() && !S.files.length);
  }

  function onKeydown(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  function onPaste(event) {
    const files = event.clipboardData?.files;
    if (files?.length) {
      event.preventDefault();
      addFiles([...files]);
    }
  }

  function buildEmoji() {
    const names = T.emojiNames.split(",");
    const grid = h(
      "div",
      { class: "bw-emoji", role: "group", "aria-label": T.emoji, hidden: true },
      ...EMOJI.map((emoji, i) =>
        h("button", { type: "button", "aria-label": names[i], tabindex: i ? "-1" : "0", text: emoji }),
      ),
    );
    grid.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (button) insertEmoji(button.textContent);
    });
    grid.addEventListener("keydown", moveInGrid);
    return grid;
  }

  const GRID_STEPS = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 8, ArrowUp: -8 };
  // Arrow keys move within the grid, so Tab leaves it in one step.
  function moveInGrid(event) {
    const step = GRID_STEPS[event.key];
    if (!step) return;
    event.preventDefault();
    const buttons = [...ui.emoji.children];
    const i = buttons.indexOf(ui.shadow.activeElement);
    const next = buttons[Math.min(buttons.length - 1, Math.max(0, i + step))];
    buttons.forEach((button) => (button.tabIndex = -1));
    next.tabIndex = 0;
    next.focus();
  }

  function toggleEmoji() {
    if (!ui.emoji.hidden) return closeEmoji(true);
    ui.emoji.hidden = false;
    ui.emojiButton.setAttribute("aria-expanded", "true");
    ui.emoji.querySelector('[tabindex="0"]').focus();
  }

  function closeEmoji(refocus) {
    if (ui.emoji.hidden) return;
    ui.emoji.hidden = true;
    ui.emojiButton.setAttribute("aria-expanded", "false");
    if (refocus) ui.emojiButton.focus();
  }

  function insertEmoji(emoji) {
    const input = ui.input;
    const max = S.cfg.maxChars;
    closeEmoji(false);
    input.focus();
    if (max && input.value.length + emoji.length > max) return;
    input.setRangeText(emoji, input.selectionStart, input.selectionEnd, "end");
    onInput();
  }

  // ---- Panel ----------------------------------------------------------------------------------

  function openPanel() {
    if (S.open) return;
    S.open = true;
    ui.panel.hidden = false;
    ui.root.classList.add("bw-open");
    ui.launcher.setAttribute("aria-expanded", "true");
    render({ bottom: true });
    ui.input.focus({ preventScroll: true });
    ensureSession().catch((e) => notice(e.message));
  }

  function closePanel() {
    if (!S.open) return;
    const hadFocus = !!ui.shadow.activeElement;
    S.open = false;
    closeEmoji(false);
    ui.panel.hidden = true;
    ui.root.classList.remove("bw-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    updateBadge();
    if (hadFocus) ui.launcher.focus();
  }

  function onEscape(event) {
    if (event.key !== "Escape" || !S.open) return;
    event.stopPropagation();
    if (!ui.emoji.hidden) closeEmoji(true);
    else closePanel();
  }

  // ---- Building -------------------------------------------------------------------------------

  function normalizeConfig(c) {
    const color = typeof c.color === "string" && CSS.supports?.("color", c.color) ? c.color : "#1f6feb";
    return {
      title: String(c.title || ""),
      avatar: isHttpUrl(c.avatar_url) ? c.avatar_url : null,
      color,
      left: c.position === "left",
      greeting: c.greeting ? String(c.greeting) : "",
      languages: Array.isArray(c.languages) ? c.languages : [],
      online: c.online !== false,
      awayText: c.away_text ? String(c.away_text) : "",
      prechat: c.prechat && typeof c.prechat === "object" ? c.prechat : {},
      maxChars: Number(c.limits?.max_chars) || 0,
      maxFile: Number(c.limits?.max_file_bytes) || 0,
    };
  }

  function pickLanguage(allowed) {
    const primary = (tag) => String(tag).toLowerCase().split(/[-_]/)[0];
    const ok = new Set(allowed.map(primary));
    const wanted = navigator.languages?.length ? navigator.languages : [navigator.language];
    return wanted.map(primary).find((lang) => I18N[lang] && ok.has(lang)) || "en";
  }

  // Text on the brand colour: dark on light colours, white otherwise.
  function textOn(color) {
    const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color)?.[1];
    if (!hex) return "#fff";
    const full = hex.length === 3 ? [...hex].map((c) => c + c).join("") : hex;
    const [r, g, b] = [0, 2, 4].map((i) => {
      const v = parseInt(full.slice(i, i + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 ? "#1f2328" : "#fff";
  }

  function adoptStyles(shadow) {
    if ("adoptedStyleSheets" in Document.prototype && "replaceSync" in CSSStyleSheet.prototype) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLES);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      // Older browsers: an inline style element, which a strict page policy may refuse.
      shadow.append(h("style", { text: STYLES }));
    }
  }

  function guardHost(host) {
    for (const [prop, value] of Object.entries(HOST_STYLE)) host.style.setProperty(prop, value, "important");
    host.style.setProperty("--bw-accent", S.cfg.color, "important");
    host.style.setProperty("--bw-on-accent", textOn(S.cfg.color), "important");
  }

  // A transformed or filtered <body> would become the containing block of the fixed panel;
  // the widget then hangs from <html> instead.
  function mountPoint() {
    const body = document.body;
    if (!body) return document.documentElement;
    const style = getComputedStyle(body);
    const traps = style.transform !== "none" || style.filter !== "none" || style.perspective !== "none";
    return traps ? document.documentElement : body;
  }

  function headerAvatar() {
    const letter = letterAvatar(S.cfg.title);
    if (!S.cfg.avatar) return letter;
    const img = h("img", { class: "bw-avatar", src: S.cfg.avatar, alt: "", referrerpolicy: "no-referrer" });
    // CSP may block a foreign image: the letter stands in.
    img.addEventListener("error", () => img.replaceWith(letter), { once: true });
    return img;
  }

  function buildHeader() {
    const { cfg } = S;
    return h(
      "div",
      { class: `bw-head${cfg.online ? " bw-online" : ""}` },
      headerAvatar(),
      h(
        "div",
        { class: "bw-head-text" },
        h("div", { class: "bw-title", text: cfg.title }),
        h("div", { class: "bw-presence", text: cfg.online ? T.online : T.away }),
      ),
      iconButton("x", T.close, closePanel, "bw-close"),
    );
  }

  function buildComposer() {
    ui.input = h("textarea", {
      class: "bw-input",
      rows: "1",
      placeholder: T.placeholder,
      "aria-label": T.placeholder,
      maxlength: S.cfg.maxChars ? String(S.cfg.maxChars) : null,
      oninput: onInput,
      onkeydown: onKeydown,
      onpaste: onPaste,
    });
    ui.fileInput = h("input", {
      type: "file",
      class: "bw-file",
      multiple: true,
      hidden: true,
      tabindex: "-1",
    });
    ui.fileInput.addEventListener("change", () => {
      addFiles([...ui.fileInput.files]);
      ui.fileInput.value = "";
    });
    ui.emojiButton = iconButton("smile", T.emoji, toggleEmoji);
    ui.emojiButton.setAttribute("aria-haspopup", "true");
    ui.emojiButton.setAttribute("aria-expanded", "false");
    ui.chips = h("div", { class: "bw-chips", hidden: true });
    ui.emoji = buildEmoji();
    return h(
      "div",
      { class: "bw-composer bw-empty" },
      ui.chips,
      ui.emoji,
      h(
        "div",
        { class: "bw-row" },
        ui.input,
        ui.emojiButton,
        iconButton("clip", T.attach, () => ui.fileInput.click()),
        iconButton("send", T.send, submit, "bw-send"),
        ui.fileInput,
      ),
    );
  }

  function buildLog() {
    const { cfg } = S;
    ui.log = h("div", {
      class: "bw-log",
      role: "log",
      "aria-live": "polite",
      "aria-label": T.log,
      tabindex: "0", // the history scrolls with the keyboard too
    });
    ui.log.addEventListener("scroll", () => ui.log.scrollTop < 40 && loadOlder(), { passive: true });
    ui.more = h("button", { type: "button", class: "bw-more", text: T.more, onclick: loadOlder });
    if (!cfg.online) ui.away = h("div", { class: "bw-away", text: cfg.awayText || T.awayText });
    if (cfg.greeting) {
      ui.greeting = h(
        "div",
        { class: "bw-msg bw-company bw-greeting" },
        h("div", { class: "bw-bubble" }, h("div", { class: "bw-text" }, ...linkify(cfg.greeting))),
      );
    }
    return ui.log;
  }

  // Files dropped anywhere on the panel are attached.
  function acceptDrops(panel) {
    const hasFiles = (event) => event.dataTransfer?.types?.includes("Files");
    panel.addEventListener("dragover", (event) => hasFiles(event) && event.preventDefault());
    panel.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      addFiles([...event.dataTransfer.files]);
    });
  }

  function buildUi() {
    ui.launcher = h(
      "button",
      {
        type: "button",
        class: "bw-launcher",
        "aria-label": T.open,
        "aria-expanded": "false",
        "aria-controls": "bw-panel",
        onclick: () => (S.open ? closePanel() : openPanel()),
      },
      icon("chat"),
      icon("down"),
      (ui.badge = h("span", { class: "bw-badge", "aria-hidden": "true", hidden: true })),
    );
    ui.notice = h("div", { class: "bw-notice", role: "alert", hidden: true });
    ui.prechat = buildPrechat();
    ui.panel = h(
      "div",
      { class: "bw-panel", id: "bw-panel", role: "dialog", "aria-label": S.cfg.title || T.log, hidden: true },
      buildHeader(),
      buildLog(),
      ui.notice,
      ui.prechat,
      (ui.composer = buildComposer()),
    );
    acceptDrops(ui.panel);
    ui.root = h(
      "div",
      { class: `bw-root${S.cfg.left ? " bw-left" : ""}`, onkeydown: onEscape },
      ui.panel,
      ui.launcher,
    );
  }

  function mount() {
    const host = (ui.host = document.createElement("beseda-widget"));
    guardHost(host);
    ui.shadow = host.attachShadow({ mode: "open" });
    adoptStyles(ui.shadow);
    ui.shadow.append(ui.root);
    mountPoint().append(host);
    // Single-page sites may replace the whole body: come back if that happens.
    setInterval(() => host.isConnected || mountPoint().append(host), 2000);
  }

  function listen() {
    GESTURES.forEach((type) => addEventListener(type, unlockAudio, { capture: true, passive: true }));
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) return;
      stopFlash();
      markRead();
    });
    // Closes the emoji grid on a click anywhere else (the page included).
    document.addEventListener("pointerdown", (event) => {
      const path = event.composedPath();
      if (!path.includes(ui.emoji) && !path.includes(ui.emojiButton)) closeEmoji(false);
    });
    // Another tab of the same site showed the replies.
    addEventListener("storage", (event) => {
      if (event.key !== SEEN_KEY) return;
      S.seen = Math.max(S.seen, Number(event.newValue) || 0);
      updateBadge();
      if (!unreadCount()) stopFlash();
    });
  }

  let configDelay = 5000;
  async function init() {
    let config;
    try {
      config = await api("GET", "/config", { auth: false });
    } catch (e) {
      // An unknown or disabled channel shows nothing; an unreachable server is asked again later.
      if (isTransient(e)) setTimeout(init, (configDelay = Math.min(configDelay * 2, 300000)));
      return;
    }
    S.cfg = normalizeConfig(config || {});
    S.lang = pickLanguage(S.cfg.languages);
    T = I18N[S.lang];
    S.hasDialog = S.token ? null : false;
    buildUi();
    mount();
    listen();
    render();
    ui.host.dataset.state = "ready";
    // A returning visitor: resume at once so history, unread replies and presence show.
    if (S.token) ensureSession().catch((e) => isTransient(e) && retrySession());
    if (pendingOpen) openPanel();
  }

  window.Beseda = Object.freeze({
    open() {
      if (ui.panel) openPanel();
      else pendingOpen = true;
    },
    close() {
      if (ui.panel) closePanel();
      else pendingOpen = false;
    },
  });

  init();
})();
