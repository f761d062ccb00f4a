// Drawing a message's text from its plain text and entities, the way Telegram clients do.
// No HTML from the server is ever parsed: every piece of text becomes a text node, and every
// style an element made here. Entity offsets are UTF-16 code units, as JavaScript counts.
"use strict";

const Render = (() => {
  const STYLES = {
    bold: "b",
    italic: "i",
    underline: "u",
    strikethrough: "s",
  };

  // Copy `text` as a phone would: the clipboard API where the page may use it (127.0.0.1 is a
  // secure context), else a hidden text area and execCommand. onDone runs once it is copied,
  // onFail (if given) when neither way worked.
  function copyText(text, onDone, onFail) {
    const done = () => onDone && onDone();
    const failed = () => onFail && onFail();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done, failed));
    } else {
      fallbackCopy(text, done, failed);
    }
  }

  function fallbackCopy(text, done, failed) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    area.remove();
    if (copied) done();
    else failed();
  }

  function safeUrl(url) {
    return /^https?:\/\//i.test(url) ? url : null;
  }

  // The element for one entity, and the element its inner text goes into.
  function elementFor(entity, ctx) {
    const tag = STYLES[entity.type];
    if (tag) {
      const node = document.createElement(tag);
      return [node, node];
    }
    switch (entity.type) {
      case "code": {
        const node = document.createElement("code");
        node.className = "entity-code";
        if (!ctx.protected) {
          node.classList.add("copyable");
          node.title = "Click to copy";
          node.tabIndex = 0;
          const copy = () => copyText(node.textContent, () => ctx.copied && ctx.copied());
          node.addEventListener("click", copy);
          node.addEventListener("keydown", (event) => {
            if (event.key === "Enter") copy();
          });
        }
        return [node, node];
      }
      case "pre": {
        const pre = document.createElement("pre");
        const code = document.createElement("code");
        if (entity.language) code.dataset.language = entity.language;
        pre.append(code);
        if (!ctx.protected) {
          pre.classList.add("copyable");
          pre.title = "Click to copy";
          pre.addEventListener("click", () =>
            copyText(code.textContent, () => ctx.copied && ctx.copied()),
          );
        }
        return [pre, code];
      }
      case "text_link": {
        const url = String(entity.url || "");
        const match = /^tg:\/\/user\?id=(\d+)$/.exec(url);
        if (match) {
          const node = document.createElement("span");
          node.className = "mention";
          node.dataset.userId = match[1];
          return [node, node];
        }
        const href = safeUrl(url);
        if (href) {
          const node = document.createElement("a");
          node.href = href;
          node.target = "_blank";
          node.rel = "noopener noreferrer";
          return [node, node];
        }
        const node = document.createElement("span");
        node.className = "link-unsafe";
        node.title = url;
        return [node, node];
      }
      case "spoiler": {
        const node = document.createElement("span");
        node.className = "spoiler";
        node.title = "Spoiler: click to show";
        node.addEventListener("click", () => node.classList.add("revealed"));
        return [node, node];
      }
      case "blockquote":
      case "expandable_blockquote": {
        const node = document.createElement("blockquote");
        if (entity.type === "expandable_blockquote") {
          node.classList.add("expandable");
          node.addEventListener("click", () => node.classList.toggle("expanded"));
        }
        return [node, node];
      }
      case "bot_command": {
        const node = document.createElement("span");
        node.className = "command";
        return [node, node];
      }
      default: {
        const node = document.createElement("span");
        return [node, node];
      }
    }
  }

  function build(parent, text, start, end, entities, ctx) {
    let position = start;
    let index = 0;
    while (index < entities.length) {
      const entity = entities[index];
      if (entity.offset >= end) break;
      if (entity.offset < position) {
        index += 1; // overlaps what is already drawn: its text is there, its style is not
        continue;
      }
      if (entity.offset > position) parent.append(text.slice(position, entity.offset));
      const stop = Math.min(entity.end, end);
      const inner = [];
      let next = index + 1;
      while (next < entities.length && entities[next].offset < stop) {
        inner.push(entities[next]);
        next += 1;
      }
      const [outer, content] = elementFor(entity, ctx);
      build(content, text, entity.offset, stop, inner, ctx);
      parent.append(outer);
      position = stop;
      index = next;
    }
    if (position < end) parent.append(text.slice(position, end));
  }

  // A fragment with the text drawn; ctx: {protected: bool, copied: function}.
  function text(plain, entities, ctx) {
    const fragment = document.createDocumentFragment();
    const length = plain.length;
    const sorted = (entities || [])
      .filter(
        (e) =>
          Number.isInteger(e.offset) &&
          Number.isInteger(e.length) &&
          e.length > 0 &&
          e.offset >= 0 &&
          e.offset < length,
      )
      .map((e) => ({ ...e, end: Math.min(e.offset + e.length, length) }))
      .sort((a, b) => a.offset - b.offset || b.end - a.end);
    build(fragment, plain, 0, length, sorted, ctx || {});
    return fragment;
  }

  return { text, copyText, safeUrl };
})();
