// The sandbox page: three chats, kept live by the server's event stream (/api/events).
// Everything here acts only as a Telegram client could: send, reply, press a button.
"use strict";

const PANES = [
  {
    key: "citizen",
    title: "Citizen",
    sub: "Private chat with the bot: you are the citizen",
    commands: true,
  },
  { key: "review", title: "Review group", sub: "The reviewers' private group" },
  { key: "finance", title: "Finance group", sub: "The finance staff's private group" },
];

const state = {
  meta: null,
  panes: {}, // pane -> {messages: Map(id -> view), persona, replyTo, el}
  source: null,
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("data-")) node.setAttribute(name, value);
    else if (name in node) node[name] = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return readAnswer(response);
}

async function readAnswer(response) {
  let answer = {};
  try {
    answer = await response.json();
  } catch (error) {
    answer = { ok: false, error: `HTTP ${response.status}` };
  }
  if (!response.ok || !answer.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

// --- panes ------------------------------------------------------------------------------

function buildPane(spec) {
  const pane = {
    key: spec.key,
    messages: new Map(),
    persona: null,
    replyTo: null,
    pending: null,
  };
  const head = el("header", { class: "pane-head" });
  const titles = el(
    "div",
    { class: "titles" },
    el("div", { class: "title", text: spec.title }),
    el("div", { class: "sub", text: spec.sub }),
  );
  head.append(titles);
  const controls = el("div", { class: "controls" });
  if (spec.key === "citizen") {
    const langs = el("div", { class: "langs", role: "group", "aria-label": "Citizen's language" });
    for (const [code, label] of [
      ["en", "English"],
      ["zh", "中文"],
    ]) {
      const button = el("button", { class: "lang", type: "button", "data-lang": code, text: label });
      button.addEventListener("click", () =>
        post("/api/language", { language: code }).catch((error) => toast(pane, error.message)),
      );
      langs.append(button);
    }
    controls.append(el("span", { class: "label", text: "Telegram language:" }), langs);
  } else {
    const select = el("select", { class: "persona", "aria-label": "Act as" });
    select.addEventListener("change", () => {
      pane.persona = select.value;
      setReply(pane, null);
      redrawOutgoing(pane);
    });
    controls.append(el("span", { class: "label", text: "Act as:" }), select);
    pane.select = select;
  }
  head.append(controls);

  const list = el("div", { class: "messages", role: "log", "aria-live": "polite" });
  const empty = el("div", { class: "empty" });
  if (spec.key === "citizen") {
    const start = el("button", { class: "start", type: "button", text: "START" });
    start.addEventListener("click", () => send(pane, "/start"));
    empty.append(
      el("p", { text: "A new chat with the tip line's bot. Telegram shows a Start button:" }),
      start,
    );
  } else {
    empty.append(el("p", { text: "Nothing in this group yet." }));
  }
  const replyBar = el("div", { class: "reply-bar", hidden: true });
  const replyText = el("span", { class: "reply-text" });
  const replyCancel = el("button", { class: "reply-cancel", type: "button", text: "✕" });
  replyCancel.title = "Do not reply";
  replyCancel.addEventListener("click", () => setReply(pane, null));
  replyBar.append(el("span", { class: "reply-icon", text: "↩" }), replyText, replyCancel);

  const input = el("textarea", { class: "input", rows: 1, placeholder: "Message" });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit(pane);
    }
  });
  const sendButton = el("button", { class: "send", type: "button", text: "Send" });
  sendButton.addEventListener("click", () => submit(pane));

  const photoInput = el("input", { class: "photo-input file-input", type: "file", accept: "image/*" });
  const fileInput = el("input", { class: "doc-input file-input", type: "file" });
  photoInput.addEventListener("change", () => upload(pane, photoInput, "photo"));
  fileInput.addEventListener("change", () => upload(pane, fileInput, "document"));
  const photoButton = el("label", { class: "attach", title: "Send a photo (compressed, like Telegram)" }, "🖼", photoInput);
  const fileButton = el("label", { class: "attach", title: "Send a file (as it is)" }, "📎", fileInput);

  const tools = el("div", { class: "tools" });
  if (spec.commands) {
    const menuButton = el("button", { class: "menu-button", type: "button", text: "/" });
    menuButton.title = "The bot's commands";
    const menu = el("div", { class: "command-menu", hidden: true });
    menuButton.addEventListener("click", () => {
      menu.hidden = !menu.hidden;
    });
    tools.append(menuButton);
    pane.menu = menu;
  }
  tools.append(photoButton, fileButton);
  const composer = el("div", { class: "composer" }, tools, input, sendButton);

  const toastBox = el("div", { class: "toast", hidden: true, role: "status" });
  const alertBox = el("div", { class: "alert", hidden: true, role: "alertdialog" });
  const section = el(
    "section",
    { class: "pane", id: `pane-${spec.key}`, "data-pane": spec.key },
    head,
    el("div", { class: "body" }, list, empty, toastBox, alertBox),
    pane.menu || null,
    replyBar,
    composer,
  );
  Object.assign(pane, { section, list, empty, replyBar, replyText, input, toastBox, alertBox });
  return pane;
}

function personaOf(pane) {
  const people = state.meta ? state.meta.personas[pane.key] : [];
  return people.find((p) => p.key === pane.persona) || people[0];
}

function applyMeta(meta) {
  state.meta = meta;
  for (const pane of Object.values(state.panes)) {
    if (pane.select) {
      const people = meta.personas[pane.key];
      if (pane.select.options.length !== people.length) {
        pane.select.replaceChildren(
          ...people.map((p) => el("option", { value: p.key, text: p.name })),
        );
      }
      if (!pane.persona) pane.persona = people[0].key;
      pane.select.value = pane.persona;
    } else if (!pane.persona) {
      pane.persona = meta.personas[pane.key][0].key;
    }
    const chat = meta.chats[pane.key];
    pane.section.querySelector(".title").textContent =
      pane.key === "citizen" ? `Citizen · chat with ${chat.title}` : chat.title;
  }
  const citizen = state.panes.citizen;
  for (const button of citizen.section.querySelectorAll(".lang")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === meta.language));
  }
  if (citizen.menu) {
    citizen.menu.replaceChildren(
      ...meta.commands.map((c) => {
        const item = el(
          "button",
          { class: "command-item", type: "button" },
          el("span", { class: "command-name", text: `/${c.command}` }),
          el("span", { class: "command-description", text: c.description }),
        );
        item.addEventListener("click", () => {
          citizen.menu.hidden = true;
          if (c.command === "status" || c.command === "forget") {
            citizen.input.value = `/${c.command} `;
            citizen.input.focus();
          } else {
            send(citizen, `/${c.command}`);
          }
        });
        return item;
      }),
    );
  }
}

// --- messages ---------------------------------------------------------------------------

function timeOf(date) {
  const moment = new Date(date * 1000);
  return moment.toTimeString().slice(0, 5);
}

function sizeOf(bytes) {
  if (!bytes && bytes !== 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function isOutgoing(pane, view) {
  if (view.from.bot) return false;
  if (pane.key === "citizen") return true;
  const me = personaOf(pane);
  return me && view.from.id === me.id;
}

function drawMedia(view) {
  const media = view.media;
  if (!media) return null;
  if (media.kind === "photo") {
    const img = el("img", {
      class: "photo",
      src: `/files/${encodeURIComponent(media.file)}`,
      alt: "photo",
      draggable: !view.protected,
      loading: "lazy",
    });
    if (view.protected) return el("div", { class: "media" }, img);
    const link = el("a", { href: img.src, target: "_blank", rel: "noopener", title: "Open the photo" }, img);
    return el("div", { class: "media" }, link);
  }
  if (media.kind === "location") {
    const where = `${Number(media.latitude).toFixed(5)}, ${Number(media.longitude).toFixed(5)}`;
    const label = media.title ? `${media.title} · ${media.address || ""} · ${where}` : where;
    return el("div", { class: "media location", text: `📍 ${label}` });
  }
  if (media.file) {
    const name = media.name || media.kind;
    const card = el(
      "div",
      { class: `media file ${media.kind}` },
      el("span", { class: "file-icon", text: media.kind === "video" ? "🎬" : "📄" }),
      el(
        "span",
        { class: "file-meta" },
        el("span", { class: "file-name", text: name }),
        el("span", { class: "file-size", text: [sizeOf(media.size), media.mime].filter(Boolean).join(" · ") }),
      ),
    );
    if (!view.protected) {
      card.append(
        el("a", {
          class: "download",
          href: `/files/${encodeURIComponent(media.file)}`,
          download: name,
          text: "Download",
        }),
      );
    }
    return card;
  }
  return el("div", { class: "media other", text: `[${media.kind}]` });
}

function drawButtons(pane, view) {
  if (!view.buttons.length) return null;
  const keyboard = el("div", { class: "keyboard" });
  for (const row of view.buttons) {
    const line = el("div", { class: "kbd-row" });
    for (const button of row) {
      if (button.url) {
        const href = Render.safeUrl(button.url);
        line.append(
          href
            ? el("a", { class: "kbd", href, target: "_blank", rel: "noopener noreferrer", text: button.text })
            : el("span", { class: "kbd disabled", text: button.text }),
        );
        continue;
      }
      const node = el("button", { class: "kbd", type: "button", text: button.text });
      if (button.data !== undefined) {
        node.dataset.data = button.data;
        node.addEventListener("click", () => press(pane, view, button.data, node));
      } else if (button.copy !== undefined) {
        // A copy_text button: the phone copies its text; no callback query reaches the bot.
        node.classList.add("copy");
        node.dataset.copy = button.copy;
        node.title = "Copy to the clipboard";
        node.addEventListener("click", () =>
          Render.copyText(
            button.copy,
            () => toast(pane, "Copied"),
            () => toast(pane, "Could not copy: this browser refused the clipboard"),
          ),
        );
      }
      line.append(node);
    }
    keyboard.append(line);
  }
  return keyboard;
}

function drawMessage(pane, view) {
  const outgoing = isOutgoing(pane, view);
  const bubble = el("div", {
    class: ["msg", outgoing ? "out" : "in", view.from.bot ? "bot" : "person", view.protected ? "protected" : ""]
      .filter(Boolean)
      .join(" "),
    "data-id": String(view.id),
  });
  if (pane.key !== "citizen" && !outgoing) {
    bubble.append(el("div", { class: "sender", text: view.from.name }));
  }
  if (view.reply_to) {
    const quote = el(
      "div",
      { class: "quote" },
      el("span", { class: "quote-name", text: view.reply_to.name }),
      el("span", { class: "quote-text", text: view.reply_to.snippet }),
    );
    quote.addEventListener("click", () => {
      const target = pane.list.querySelector(`.msg[data-id="${view.reply_to.id}"]`);
      if (target) {
        target.scrollIntoView({ block: "center" });
        target.classList.add("flash");
        setTimeout(() => target.classList.remove("flash"), 900);
      }
    });
    bubble.append(quote);
  }
  const media = drawMedia(view);
  if (media) bubble.append(media);
  if (view.text) {
    const body = el("div", { class: "text" });
    body.append(Render.text(view.text, view.entities, { protected: view.protected, copied: () => toast(pane, "Copied") }));
    bubble.append(body);
  }
  const foot = el("div", { class: "foot" });
  if (view.demo) foot.append(el("span", { class: "tag demo", text: "DEMO" }));
  if (view.protected) {
    foot.append(el("span", { class: "tag protected-mark", text: "🔒 protected", title: "Protected content: it cannot be forwarded, copied or saved" }));
  }
  if (view.force_reply) foot.append(el("span", { class: "tag", text: "reply wanted" }));
  if (view.edited) foot.append(el("span", { class: "edited", text: "edited" }));
  foot.append(el("span", { class: "time", text: timeOf(view.date) }));
  const reply = el("button", { class: "reply-action", type: "button", text: "↩ Reply", title: "Reply to this message" });
  reply.addEventListener("click", () => setReply(pane, view));
  foot.append(reply);
  bubble.append(foot);
  const buttons = drawButtons(pane, view);
  if (buttons) bubble.append(buttons);
  if (view.protected) bubble.addEventListener("contextmenu", (event) => event.preventDefault());
  return bubble;
}

function nearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

function upsert(pane, view, { scroll = true, auto = true } = {}) {
  const stick = nearBottom(pane.list);
  const fresh = !pane.messages.has(view.id);
  pane.messages.set(view.id, view);
  const node = drawMessage(pane, view);
  const old = pane.list.querySelector(`.msg[data-id="${view.id}"]`);
  if (old) {
    old.replaceWith(node);
  } else {
    const after = [...pane.list.children].find((child) => Number(child.dataset.id) > view.id);
    pane.list.insertBefore(node, after || null);
  }
  pane.empty.hidden = pane.messages.size > 0;
  if (fresh && auto) maybeAutoReply(pane, view);
  if (scroll && (stick || (fresh && isOutgoing(pane, view)))) pane.list.scrollTop = pane.list.scrollHeight;
}

function remove(pane, id) {
  pane.messages.delete(id);
  const node = pane.list.querySelector(`.msg[data-id="${id}"]`);
  if (node) node.remove();
  if (pane.replyTo && pane.replyTo.id === id) setReply(pane, null);
  pane.empty.hidden = pane.messages.size > 0;
}

function redrawOutgoing(pane) {
  for (const view of pane.messages.values()) upsert(pane, view, { scroll: false, auto: false });
}

// A prompt that wants a reply from the person being played (it mentions them): the
// composer replies to it, as Telegram's apps do for a selective force_reply.
function maybeAutoReply(pane, view) {
  if (!view.force_reply || !view.from.bot) return;
  const me = personaOf(pane);
  const mentioned = view.entities.some(
    (e) => e.type === "text_link" && e.url === `tg://user?id=${me ? me.id : ""}`,
  );
  if (mentioned || !view.entities.some((e) => e.type === "text_link" && e.url.startsWith("tg://user"))) {
    setReply(pane, view);
  }
}

function setReply(pane, view) {
  pane.replyTo = view;
  pane.replyBar.hidden = !view;
  if (view) {
    const snippet = view.text ? view.text.slice(0, 70) : view.media ? `[${view.media.kind}]` : "";
    pane.replyText.textContent = `Replying to ${view.from.name}: ${snippet}`;
    pane.input.focus();
  } else {
    pane.replyText.textContent = "";
  }
}

// --- acting -------------------------------------------------------------------------------

function toast(pane, text) {
  if (!text) return;
  pane.toastBox.textContent = text;
  pane.toastBox.hidden = false;
  clearTimeout(pane.toastTimer);
  pane.toastTimer = setTimeout(() => {
    pane.toastBox.hidden = true;
  }, 3500);
}

function alertBox(pane, text) {
  const ok = el("button", { type: "button", class: "alert-ok", text: "OK" });
  ok.addEventListener("click", () => {
    pane.alertBox.hidden = true;
  });
  pane.alertBox.replaceChildren(el("p", { text }), ok);
  pane.alertBox.hidden = false;
  ok.focus();
}

async function send(pane, text) {
  const body = { pane: pane.key, persona: personaOf(pane).key, text };
  if (pane.replyTo) body.reply_to = pane.replyTo.id;
  try {
    await post("/api/send", body);
    setReply(pane, null);
    return true;
  } catch (error) {
    toast(pane, error.message);
    return false;
  }
}

async function submit(pane) {
  const text = pane.input.value;
  if (!text.trim()) return;
  if (await send(pane, text)) pane.input.value = "";
}

async function upload(pane, input, kind) {
  const file = input.files && input.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("pane", pane.key);
  form.append("persona", personaOf(pane).key);
  form.append("kind", kind);
  form.append("caption", pane.input.value);
  form.append("file", file, file.name);
  try {
    await readAnswer(await fetch("/api/upload", { method: "POST", body: form }));
    pane.input.value = "";
    setReply(pane, null);
  } catch (error) {
    toast(pane, error.message);
  }
  input.value = "";
}

async function press(pane, view, data, node) {
  node.classList.add("pending");
  pane.pending = node;
  clearTimeout(pane.pendingTimer);
  pane.pendingTimer = setTimeout(() => node.classList.remove("pending"), 10000);
  try {
    await post("/api/press", { pane: pane.key, persona: personaOf(pane).key, message_id: view.id, data });
  } catch (error) {
    node.classList.remove("pending");
    toast(pane, error.message);
  }
}

function answered(event) {
  const pane = state.panes[event.pane];
  if (!pane) return;
  if (pane.pending) pane.pending.classList.remove("pending");
  pane.pending = null;
  if (event.alert) alertBox(pane, event.text);
  else toast(pane, event.text);
}

// --- the stream -----------------------------------------------------------------------------

function connect() {
  const live = document.getElementById("live");
  const source = new EventSource("/api/events");
  state.source = source;
  source.addEventListener("open", () => {
    live.textContent = "live";
    live.className = "live on";
  });
  source.addEventListener("error", () => {
    live.textContent = "reconnecting…";
    live.className = "live off";
  });
  source.addEventListener("snapshot", (event) => {
    const snapshot = JSON.parse(event.data);
    applyMeta(snapshot);
    for (const pane of Object.values(state.panes)) {
      pane.messages.clear();
      pane.list.replaceChildren();
      for (const view of snapshot.panes[pane.key]) upsert(pane, view, { scroll: false, auto: false });
      pane.empty.hidden = pane.messages.size > 0;
      pane.list.scrollTop = pane.list.scrollHeight;
    }
    document.body.dataset.ready = "true";
  });
  source.addEventListener("upsert", (event) => {
    const change = JSON.parse(event.data);
    upsert(state.panes[change.pane], change.message);
  });
  source.addEventListener("remove", (event) => {
    const change = JSON.parse(event.data);
    remove(state.panes[change.pane], change.id);
  });
  source.addEventListener("answer", (event) => answered(JSON.parse(event.data)));
  source.addEventListener("meta", (event) => applyMeta(JSON.parse(event.data)));
}

// --- the tour --------------------------------------------------------------------------------

function showStep(button) {
  const pane = state.panes[button.dataset.pane];
  if (!pane) return;
  if (button.dataset.persona && pane.select) {
    pane.persona = button.dataset.persona;
    pane.select.value = pane.persona;
    setReply(pane, null);
    redrawOutgoing(pane);
  }
  for (const step of document.querySelectorAll("#tour li")) step.classList.remove("current");
  button.closest("li").classList.add("current");
  pane.section.classList.add("highlight");
  pane.section.scrollIntoView({ block: "nearest", inline: "center" });
  setTimeout(() => pane.section.classList.remove("highlight"), 1500);
  pane.input.focus();
}

function setUpTour() {
  const tour = document.getElementById("tour");
  const toggle = document.getElementById("tour-toggle");
  toggle.addEventListener("click", () => {
    tour.hidden = !tour.hidden;
    toggle.setAttribute("aria-expanded", String(!tour.hidden));
  });
  for (const button of tour.querySelectorAll("button.show")) {
    button.addEventListener("click", () => showStep(button));
  }
}

function main() {
  const container = document.getElementById("panes");
  for (const spec of PANES) {
    const pane = buildPane(spec);
    state.panes[spec.key] = pane;
    container.append(pane.section);
  }
  setUpTour();
  connect();
}

document.addEventListener("DOMContentLoaded", main);
