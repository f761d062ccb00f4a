"""The entities Telegram finds by itself in the text of a message a bot sends.

Telegram (its servers, through TDLib's `find_entities`) turns parts of any text into entities
without being asked: `url` (with or without http(s)://, bare domains, t.me/..., tg:// links,
IPv4 addresses), `email`, `mention` (@username), `hashtag`, `cashtag` and `bot_command`. They
are clickable in every client. This module follows TDLib's rules (MessageEntity.cpp) with one
deliberate difference: a domain without a protocol is linked by Telegram only when its
top-level domain is on a list of common ones; here any top-level domain of two or more
letters counts. The fake is therefore at least as eager as Telegram, and a test that finds no
link here would find none in Telegram. Phone numbers are not detected (TDLib leaves that to
the clients), nor bank card numbers.

Entities found inside `code`, `pre`, a `text_link` or a text mention are dropped, as Telegram
drops them; of found entities that overlap, the first wins.
"""

from __future__ import annotations

import unicodedata

from .models import JSONDict

_BAD_PATH_END = ".:;,('?!`"
_SHORT_USERNAMES = frozenset({"gif", "vid", "pic"})
# Entities of the sender's own formatting that no found entity may overlap.
_OPAQUE = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _ascii_name(char: str) -> bool:
    return _ascii_alnum(char) or char == "_"


def _separator(char: str) -> bool:
    return unicodedata.category(char).startswith("Z") or char.isspace()


def _url_symbol(char: str) -> bool:
    code = ord(char)
    if 0x2000 <= code <= 0x206F:  # general punctuation: joiners and dashes only
        return code in (0x200C, 0x200D) or 0x2010 <= code <= 0x2015
    return not _separator(char)


def _path_symbol(char: str) -> bool:
    return char not in '\n<>"«»' and _url_symbol(char)


def _user_data_symbol(char: str) -> bool:
    return char not in "\n/[]{}()'`<>\"@«»" and _url_symbol(char)


def _domain_symbol(char: str) -> bool:
    if ord(char) < 0xC0:
        return char == "." or _ascii_alnum(char) or char in "_-~"
    return _url_symbol(char)


def _protocol_symbol(char: str) -> bool:
    if ord(char) < 0x80:
        return _ascii_alnum(char) or char in "+-"
    return not _separator(char)


def _hashtag_letter(char: str) -> bool:
    return (
        char in "_\u200c\xb7" or 0xD80 <= ord(char) <= 0xDFF or char.isalpha() or char.isdecimal()
    )


def _mentions(text: str) -> list[tuple[int, int]]:
    found = []
    for start, char in enumerate(text):
        if char != "@" or (start and _is_word(text[start - 1])):
            continue
        end = start + 1
        while end < len(text) and _ascii_name(text[end]):
            end += 1
        size = end - start - 1
        if not 2 <= size <= 32 or (end < len(text) and _is_word(text[end])):
            continue
        if size >= 4 or text[start + 1 : end].lower() in _SHORT_USERNAMES:
            found.append((start, end))
    return found


def _bot_commands(text: str) -> list[tuple[int, int]]:
    found = []
    for start, char in enumerate(text):
        if char != "/" or (start and (_is_word(text[start - 1]) or text[start - 1] in "/<>")):
            continue
        end = start + 1
        while end < len(text) and _ascii_name(text[end]):
            end += 1
        if not 1 <= end - start - 1 <= 64:
            continue
        if end < len(text) and text[end] == "@":
            at = end
            end += 1
            while end < len(text) and _ascii_name(text[end]):
                end += 1
            if not 3 <= end - at - 1 <= 32:
                continue
        if end < len(text) and (_is_word(text[end]) or text[end] in "/<>"):
            continue
        found.append((start, end))
    return found


def _hashtags(text: str) -> list[tuple[int, int]]:
    found = []
    for start, char in enumerate(text):
        if char != "#" or (start and _hashtag_letter(text[start - 1])):
            continue
        end = start + 1
        letter = False
        while end < len(text) and _hashtag_letter(text[end]):
            letter |= text[end].isalpha()
            end += 1
        if end == start + 1 or (end < len(text) and text[end] == "#") or not letter:
            continue
        found.append((start, min(end, start + 257)))
    return found


def _cashtags(text: str) -> list[tuple[int, int]]:
    found = []
    for start, char in enumerate(text):
        if char != "$" or (start and (_hashtag_letter(text[start - 1]) or text[start - 1] == "$")):
            continue
        end = start + 1
        if text.startswith("1INCH", end):
            end += 5
        else:
            while end < len(text) and "A" <= text[end] <= "Z":
                end += 1
        if not 1 <= end - start - 1 <= 8:
            continue
        if end < len(text) and (_hashtag_letter(text[end]) or text[end] == "$"):
            continue
        found.append((start, end))
    return found


def _tg_urls(text: str) -> list[tuple[int, int]]:
    found = []
    lowered = text.lower()
    for scheme in ("tg://", "ton://", "tonsite://"):
        start = lowered.find(scheme)
        while start != -1:
            end = start + len(scheme)
            domain = end
            while (
                end < len(text)
                and end - domain < 253
                and (_ascii_name(text[end]) or text[end] == "-")
            ):
                end += 1
            if end > domain:
                if end < len(text) and text[end] in "/?#":
                    path = end + 1
                    while path < len(text) and _path_symbol(text[path]):
                        path += 1
                    while path > end + 1 and text[path - 1] in _BAD_PATH_END:
                        path -= 1
                    if text[end] == "/" or path > end + 1:
                        end = path
                found.append((start, end))
            start = lowered.find(scheme, start + 1)
    return found


def _url_candidates(text: str) -> list[tuple[int, int]]:
    """TDLib's match_urls: spans around each dot that could be a web or e-mail address."""
    found: list[tuple[int, int]] = []
    begin, size = 0, len(text)
    while True:
        dot = text.find(".", begin)
        if dot == -1 or dot + 1 == size:
            break
        if text[dot + 1] == " ":
            begin = dot + 2
            continue
        start = dot
        while start > begin and _domain_symbol(text[start - 1]):
            start -= 1
        last_at = None
        end = dot
        while end < size:
            if text[end] == "@":
                last_at = end
            elif not _domain_symbol(text[end]):
                break
            end += 1
        if last_at is not None:
            while start > begin and _user_data_symbol(text[start - 1]):
                start -= 1
        if end < size and text[end] == ":":
            port_end = end + 1
            while port_end < size and text[port_end].isascii() and text[port_end].isdigit():
                port_end += 1
            port = text[end + 1 : port_end].lstrip("0")
            if port and len(port) <= 5 and int(port) <= 65535:
                end = port_end
        if end < size and text[end] in "/?#":
            path = end + 1
            while path < size and _path_symbol(text[path]):
                path += 1
            while path > end + 1 and text[path - 1] in _BAD_PATH_END:
                path -= 1
            if text[end] == "/" or path > end + 1:
                end = path
        while end > dot + 1 and text[end - 1] == ".":
            end -= 1
        bad = False
        if start != begin and text[start - 1] == "@":
            bad = last_at is not None
            user = start - 1
            while user > begin and _user_data_symbol(text[user - 1]):
                user -= 1
            bad = bad or user == start - 1
            start = user
        if start != begin:
            prefix = text[begin:start]
            if len(prefix) >= 6 and prefix.endswith("://"):
                protocol_start = start - 3
                while protocol_start > begin and _protocol_symbol(text[protocol_start - 1]):
                    protocol_start -= 1
                protocol = text[protocol_start : start - 3].lower()
                if protocol.endswith("https"):
                    start -= 8
                elif protocol.endswith("http") and protocol != "shttp":
                    start -= 7
                elif protocol.endswith("ftp") and protocol not in ("tftp", "sftp"):
                    start -= 6
                elif protocol.endswith("tonsite"):
                    start -= 10
                else:
                    bad = True
            elif _is_word(prefix[-1]) or prefix[-1] in "/#@":
                bad = True
        if not bad:
            if end > dot + 1:
                found.append((start, end))
            while end < size and text[end] == ".":
                end += 1
        else:
            while end > dot + 1 and text[end - 1] != ".":
                end -= 1
        begin = max(end, dot + 1)
    return found


def is_email(text: str) -> bool:
    user, _, domain = text.partition("@")
    if not domain:
        return False
    parts = user.replace("+", ".").split(".")
    if len(parts) >= 12 or any(len(p) >= 27 for p in parts[:-1]):
        return False
    if not 1 <= len(parts[-1]) <= 35:
        return False
    if not all(_ascii_name(c) or c == "-" for c in user.replace("+", "").replace(".", "")):
        return False
    labels = domain.split(".")
    if not 2 <= len(labels) <= 7:
        return False
    tld = labels[-1]
    if not 2 <= len(tld) <= 8 or not all(c.isascii() and c.isalpha() for c in tld):
        return False
    return all(
        label
        and len(label) < 31
        and all(_ascii_name(c) or c == "-" for c in label)
        and _ascii_alnum(label[0])
        and _ascii_alnum(label[-1])
        for label in labels[:-1]
    )


def _fix_url(url: str) -> str | None:
    """The part of a candidate that Telegram links, or None (TDLib's fix_url)."""
    full, rest, protocol = url, url, False
    if rest[:10].lower().startswith(("http://", "https://", "ftp://", "tonsite://")):
        rest, protocol = rest[rest.find(":") + 3 :], True
    cut = min([len(rest)] + [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0])
    domain, path = rest[:cut], rest[cut:]
    domain = domain[domain.find("@") + 1 :]
    if ":" in domain:
        domain = domain[: domain.rfind(":")]
    if domain.lower() == "teiegram.org":
        return None
    balance = {"(": 0, "[": 0, "{": 0}
    closing = {")": "(", "]": "[", "}": "{"}
    position = 0
    while position < len(path):
        char = path[position]
        if char in balance:
            balance[char] += 1
        elif char in closing:
            balance[closing[char]] -= 1
        if min(balance.values()) < 0:
            break
        position += 1
    while position > 0 and path[position - 1] in _BAD_PATH_END:
        position -= 1
    full = full[: len(full) - (len(path) - position)]
    labels = domain.split(".")
    if len(labels) == 1 or any(not p or len(p) >= 64 or p.endswith("-") for p in labels):
        return None
    if len(labels) == 4 and all(
        p.isascii()
        and p.isdigit()
        and len(p) <= 3
        and int(p) <= 255
        and not (p[0] == "0" and len(p) > 1)
        for p in labels
    ):
        return full
    if all(c.isascii() and c.isdigit() for c in domain.replace(".", "")):
        return None
    tld = labels[-1]
    if len(tld) <= 1:
        return None
    if tld.startswith("xn--"):
        if len(tld) <= 5 or not all(_ascii_alnum(c) for c in tld[4:]):
            return None
    elif "_" in tld or "-" in tld or (not protocol and not tld.isalpha()):
        return None  # Telegram also wants a common TLD here; any letters do (see above)
    if "_" in labels[-2]:
        return None
    return full


def _urls(text: str) -> list[tuple[str, int, int]]:
    found = []
    for start, end in _url_candidates(text):
        url = text[start:end]
        if is_email(url):
            found.append(("email", start, end))
        elif url.startswith("mailto:") and is_email(url[7:]):
            found.append(("email", start + 7, end))
        else:
            fixed = _fix_url(url)
            if fixed:
                found.append(("url", start, start + len(fixed)))
    return found


def find_entities(text: str) -> list[JSONDict]:
    """The entities Telegram would find in `text` by itself, with UTF-16 offsets."""
    spans: list[tuple[str, int, int]] = [
        *(("mention", s, e) for s, e in _mentions(text)),
        *(("bot_command", s, e) for s, e in _bot_commands(text)),
        *(("hashtag", s, e) for s, e in _hashtags(text)),
        *(("cashtag", s, e) for s, e in _cashtags(text)),
        *(("url", s, e) for s, e in _tg_urls(text)),
        *_urls(text),
    ]
    spans.sort(key=lambda span: (span[1], -span[2]))
    kept: list[tuple[str, int, int]] = []
    last_end = 0
    for kind, start, end in spans:
        if start >= last_end:
            kept.append((kind, start, end))
            last_end = end
    return [
        {"type": kind, "offset": _utf16(text[:start]), "length": _utf16(text[start:end])}
        for kind, start, end in kept
    ]


def with_found_entities(text: str, entities: list[JSONDict]) -> list[JSONDict]:
    """The sender's entities plus those Telegram finds by itself, sorted as Telegram sorts."""
    opaque = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _OPAQUE]
    found = [
        e
        for e in find_entities(text)
        if not any(e["offset"] < end and start < e["offset"] + e["length"] for start, end in opaque)
    ]
    return sorted([*entities, *found], key=lambda e: (e["offset"], -e["length"]))
