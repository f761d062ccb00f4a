"""Printable A4 posters for a campaign: the line's name, what to report, three promises, the
reward scheme in one line, and a QR code of the campaign's start link with the link as text.

Every word comes from the catalogue (`poster.*`, in one or both languages), the QR code from
segno, the page from Pillow: a PNG at the asked resolution (300 dpi by default), or the same
page as a one-page PDF through Pillow's PDF writer (the page embedded as one image, JPEG at
quality 95, sized to A4 exactly). The font is the charts' (`charts.font_family`, Noto Sans CJK
when installed), so Chinese renders. Pure drawing: the CLI (`tipline poster`) reads the policy
and writes the file.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import segno
from PIL import Image, ImageDraw, ImageFont

from bot.domain.money import format_whole
from bot.domain.policy import Campaign, Policy
from bot.telegram.charts import CJK_FAMILIES, font_family, font_file
from bot.telegram.i18n import Catalogue

A4_MM = (210, 297)
DEFAULT_DPI = 300
LANGUAGE_CHOICES = {"zh": ("zh",), "en": ("en",), "both": ("zh", "en")}
INK = (26, 26, 26)
QUIET = (90, 90, 90)
ACCENT = (179, 38, 30)
PAPER = (255, 255, 255)
JPEG_QUALITY = 95
_CJK = "\u2e80-\u9fff\uf900-\ufaff"
_CLOSING = "，。、；：！？）」』”’"
# A CJK character (with the punctuation that may not start a line), a word, or a space.
_TOKEN = re.compile(rf"[{_CJK}][{_CLOSING}]*|[^\s{_CJK}]+[{_CLOSING}]*|\s+")


class PosterError(Exception):
    """The poster cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class PosterText:
    """Everything a poster says, per language, in the order the page shows it."""

    languages: tuple[str, ...]
    title: dict[str, str]
    what: dict[str, list[str]]  # what to report: a sentence, then the campaign's focus if any
    promises: dict[str, list[str]]  # three
    reward: dict[str, str]
    scan: dict[str, str]
    small_print: dict[str, str]
    link: str


def _plain(catalogue: Catalogue, language: str, key: str, **params: object) -> str:
    """A catalogue message as plain text (the catalogue writes HTML: a poster shows none)."""
    return html.unescape(catalogue.text(language, key, **params))


def poster_text(
    catalogue: Catalogue, policy: Policy, campaign: Campaign, bot: str, languages: Sequence[str]
) -> PosterText:
    """The words of `campaign`'s poster for the bot `bot`, in `languages`."""
    rewards = policy.rewards
    amount = format_whole(rewards.top_amount_minor, rewards.currency, rewards.minor_per_major)
    category = policy.intake.category(campaign.category or "")
    area = policy.intake.area(campaign.area or "")
    what: dict[str, list[str]] = {}
    for lang in languages:
        lines = [_plain(catalogue, lang, "poster.what")]
        if category is not None:
            lines.append(_plain(catalogue, lang, "poster.category", category=category.label(lang)))
        if area is not None:
            lines.append(_plain(catalogue, lang, "poster.area", area=area.label(lang)))
        what[lang] = lines
    return PosterText(
        languages=tuple(languages),
        title={lang: _plain(catalogue, lang, "poster.title") for lang in languages},
        what=what,
        promises={
            lang: [_plain(catalogue, lang, f"poster.promise_{n}") for n in (1, 2, 3)]
            for lang in languages
        },
        reward={
            lang: _plain(catalogue, lang, "poster.reward", amount=amount) for lang in languages
        },
        scan={lang: _plain(catalogue, lang, "poster.scan") for lang in languages},
        small_print={lang: _plain(catalogue, lang, "poster.small_print") for lang in languages},
        link=campaign.link(bot),
    )


def has_chinese_font() -> bool:
    return font_family() in CJK_FAMILIES


@cache
def _face_index(path: str, family: str) -> int:
    """Which face of a font collection (.ttc) is `family` (0 for a plain font file)."""
    for index in range(32):
        try:
            face = ImageFont.truetype(path, 12, index=index)
        except OSError:
            break
        if face.getname()[0] == family:
            return index
    return 0


@cache
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    path = font_file(bold)
    return ImageFont.truetype(path, size, index=_face_index(path, font_family()))


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy lines of at most `width` pixels, broken between words or between CJK
    characters; a last line of one word or character takes one more from the line above."""
    lines: list[list[str]] = [[]]
    for token in _TOKEN.findall(text):
        line = lines[-1]
        if line and not token.isspace() and font.getlength("".join([*line, token])) > width:
            while line and line[-1].isspace():
                line.pop()
            lines.append([token])
        elif line or not token.isspace():
            line.append(token)

    def words(line: list[str]) -> int:
        return sum(not token.isspace() for token in line)

    if len(lines) > 1 and words(lines[-1]) == 1 and words(lines[-2]) > 2:
        above, last = lines[-2], lines[-1]
        cut = len(above) - 1
        while cut > 0 and above[cut - 1].isspace():
            cut -= 1
        if font.getlength("".join(above[cut - 1 :] + last)) <= width:
            lines[-2:] = [above[: cut - 1], above[cut - 1 :] + last]
    return ["".join(line).strip() for line in lines if "".join(line).strip()]


@dataclass(frozen=True)
class _Run:
    """One paragraph in one language as drawn: its lines, font and colour."""

    lines: list[str]
    font: ImageFont.FreeTypeFont
    colour: tuple[int, int, int]
    centred: bool = False

    @property
    def line_height(self) -> int:
        return round(self.font.size * 1.32)

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


Block = list[_Run]  # one paragraph in each language, the first language first


def _height(blocks: Sequence[Block]) -> int:
    return sum(run.height for block in blocks for run in block)


class _Layout:
    """The page's measures and wrapped text at one text scale (sizes are in hundredths of the
    page's width, so every resolution draws the same page)."""

    def __init__(self, text: PosterText, dpi: int, scale: float) -> None:
        self.width = round(A4_MM[0] / 25.4 * dpi)
        self.height = round(A4_MM[1] / 25.4 * dpi)
        unit = self.width / 100
        self.margin = round(7 * unit)
        self.gap = round(2.6 * unit * scale)
        self.qr_side = round(40 * unit)
        self.bullet_room = round(4 * unit * scale)
        self.languages = text.languages
        self._unit, self._scale = unit, scale
        inner = self.width - 2 * self.margin
        self.title = self._block(text.title, 6.2, inner, bold=True, colour=PAPER)
        self.band = _height([self.title]) + round(5 * unit * scale)
        self.what = [
            self._block(
                {lang: text.what[lang][i] for lang in text.languages}, 3.4, inner, bold=i == 0
            )
            for i in range(len(text.what[text.languages[0]]))
        ]
        self.promises = [
            self._block(
                {lang: text.promises[lang][i] for lang in text.languages},
                3.0,
                inner - self.bullet_room,
            )
            for i in range(3)
        ]
        self.reward = self._block(text.reward, 3.1, inner, bold=True, colour=ACCENT)
        self.scan = self._block(text.scan, 2.8, inner, centred=True)
        link_font = _font(self._size(2.9), True)
        self.link = [_Run(_wrap(text.link, link_font, inner), link_font, INK, centred=True)]
        self.small = self._block(text.small_print, 1.9, inner, colour=QUIET, centred=True)

    def _size(self, points: float) -> int:
        return max(8, round(points * self._unit * self._scale))

    def _block(
        self,
        by_language: dict[str, str],
        points: float,
        width: float,
        *,
        bold: bool = False,
        colour: tuple[int, int, int] = INK,
        centred: bool = False,
    ) -> Block:
        """A paragraph in each language: the second one smaller (and grey where the first is
        black), so that the first leads."""
        runs = []
        for index, lang in enumerate(self.languages):
            font = _font(self._size(points if index == 0 else points * 0.78), bold)
            tone = QUIET if index and colour == INK else colour
            runs.append(_Run(_wrap(by_language[lang], font, width), font, tone, centred))
        return runs

    @property
    def body_height(self) -> int:
        body = [*self.what, *self.promises, self.reward]
        return _height(body) + self.gap * len(body)

    @property
    def foot_height(self) -> int:
        """The QR code with what is above and below it, and the small print."""
        return _height([self.scan, self.link, self.small]) + self.qr_side + 3 * self.gap

    @property
    def free(self) -> int:
        """What is left of the page's height once everything is placed (negative: too much)."""
        used = self.band + self.gap + self.body_height + self.foot_height + self.margin
        return self.height - used


def _layout(text: PosterText, dpi: int) -> _Layout:
    """The largest text scale at which everything fits on the page."""
    scale = 1.0
    for _ in range(20):
        layout = _Layout(text, dpi, scale)
        if layout.free >= 0:
            return layout
        scale *= 0.93
    raise PosterError("the poster's text does not fit on one A4 page")


def _qr(link: str, side: int) -> Image.Image:
    """The link's QR code, about `side` pixels wide with its quiet zone, in whole pixels per
    module; error correction Q, as a poster on a wall gets dirty and torn."""
    code = segno.make(link, error="q", micro=False)
    modules = code.symbol_size(scale=1, border=4)[0]
    out = io.BytesIO()
    code.save(out, kind="png", scale=max(1, side // modules), border=4)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def render(text: PosterText, dpi: int = DEFAULT_DPI) -> Image.Image:
    """The A4 page, `dpi` pixels to the inch."""
    layout = _layout(text, dpi)
    page = Image.new("RGB", (layout.width, layout.height), PAPER)
    draw = _Drawing(ImageDraw.Draw(page), layout)
    draw.page.rectangle((0, 0, layout.width, layout.band), fill=ACCENT)
    draw.block(layout.title, (layout.band - _height([layout.title])) // 2)
    y = layout.band + layout.gap
    for block in layout.what:
        y = draw.block(block, y) + layout.gap
    for block in layout.promises:
        y = draw.block(block, y, bullet=True) + layout.gap
    y = draw.block(layout.reward, y) + layout.gap
    # What is left of the page goes half above the QR code, half above the small print.
    y = draw.block(layout.scan, y + layout.free // 2) + layout.gap // 2
    code = _qr(text.link, layout.qr_side)
    offset = (layout.qr_side - code.height) // 2
    page.paste(code, ((layout.width - code.width) // 2, y + offset))
    y += layout.qr_side + layout.gap // 2
    y = draw.block(layout.link, y) + layout.gap * 2
    draw.block(layout.small, y + layout.free - layout.free // 2)
    return page


class _Drawing:
    def __init__(self, page: ImageDraw.ImageDraw, layout: _Layout) -> None:
        self.page = page
        self.layout = layout

    def block(self, block: Block, top: int, *, bullet: bool = False) -> int:
        """Draw a paragraph from `top` down (a bullet before its first line if asked);
        returns the y below it."""
        layout, y = self.layout, top
        left = layout.margin + (layout.bullet_room if bullet else 0)
        if bullet and block:
            first = block[0]
            radius = round(first.font.size * 0.22)
            x, middle = layout.margin + radius, y + round(first.line_height * 0.55)
            self.page.ellipse(
                (x - radius, middle - radius, x + radius, middle + radius), fill=ACCENT
            )
        for run in block:
            for line in run.lines:
                x = round((layout.width - run.font.getlength(line)) / 2) if run.centred else left
                self.page.text((x, y), line, font=run.font, fill=run.colour)
                y += run.line_height
        return y


def png_bytes(page: Image.Image, dpi: int = DEFAULT_DPI) -> bytes:
    out = io.BytesIO()
    page.save(out, format="PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()


def pdf_bytes(page: Image.Image, title: str, dpi: int = DEFAULT_DPI) -> bytes:
    """One A4 page: the image at `dpi`, so the page is 210 x 297 mm. The title is ASCII:
    Pillow writes a document title's UTF-16 bytes as they are, and a byte 0x0D in them (as in
    名, U+540D) is read back as 0x0A."""
    if not title.isascii():
        raise ValueError("the PDF title must be ASCII")
    out = io.BytesIO()
    page.save(out, format="PDF", resolution=float(dpi), quality=JPEG_QUALITY, title=title)
    return out.getvalue()
