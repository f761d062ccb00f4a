"""Staff text relayed to a tipster is made inert: nothing in it can be tapped.

A reviewer's question reaches the tipster as the bot's message. Telegram turns parts of any
message into links by itself: web addresses (with or without http(s)://, bare domains like
example.com, t.me/... links), e-mail addresses, @usernames and tg:// links. A tap on one
could show the tipster's IP address to whoever runs the site, or open a chat with an account
that then learns who the tipster is. So before a question is relayed:

- invisible formatting characters (zero widths, joiners, direction marks) are removed, so they
  cannot hide anything from the rules below;
- a dot that joins a name to a word (``evil.example``, ``t.me``) is written ``[.]``, and so are
  the dots of an IPv4 address;
- ``://`` is written ``[:]//``;
- an ``@`` before a name (a mention, an e-mail address) is written ``[@]``.

The text stays readable and the tipster can see that it was changed. Left as they are:
hashtags and cashtags (a tap searches within Telegram), /commands (a tap sends the command to
this bot, in the tipster's own chat) and phone numbers (Telegram's servers do not link them;
dialling one is the tipster's own deliberate act). Applying the rules twice changes nothing.
"""

from __future__ import annotations

import re
import unicodedata

_SCHEME = "://"
_AT_NAME = re.compile(r"@(?=[A-Za-z0-9_])")
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
# Dots that Chinese and Japanese text uses; Telegram links only the ASCII dot, but a client
# might not be as strict, so they are broken too where they join two ASCII names.
_WIDE_DOTS = frozenset("．｡。")


def _domain_char(char: str) -> bool:
    """A character Telegram counts as part of a domain name (the dot aside)."""
    if ord(char) < 0xC0:
        return (char.isascii() and char.isalnum()) or char in "_-~"
    return not unicodedata.category(char).startswith("Z") and not char.isspace()


def _label_after(text: str, start: int) -> str:
    end = start
    while end < len(text) and text[end] != "." and _domain_char(text[end]):
        end += 1
    return text[start:end]


def _joins_a_name(text: str, index: int) -> bool:
    """Whether the dot at `index` joins a name to a word that could be a domain's next part
    (two or more characters, starting with a letter)."""
    if index == 0 or not _domain_char(text[index - 1]):
        return False
    label = _label_after(text, index + 1)
    return len(label) >= 2 and label[0].isalpha()


def _wide_dot_joins(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return before.isascii() and before.isalnum() and after.isascii() and after.isalpha()


def make_inert(text: str) -> str:
    """`text` with every part Telegram could turn into a link or a mention broken up."""
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    visible = _IPV4.sub(lambda match: match.group(0).replace(".", "[.]"), visible)
    out: list[str] = []
    for index, char in enumerate(visible):
        if (char == "." and _joins_a_name(visible, index)) or (
            char in _WIDE_DOTS and _wide_dot_joins(visible, index)
        ):
            out.append("[.]")
        else:
            out.append(char)
    broken = "".join(out).replace(_SCHEME, "[:]//")
    return _AT_NAME.sub("[@]", broken)
