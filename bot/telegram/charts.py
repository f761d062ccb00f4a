"""Charts for /stats and the digests: PNG bytes from the aggregates (bot.domain.stats).

matplotlib with the Agg backend, through its object API (a Figure per chart, never pyplot),
so rendering may run in a worker thread: callers use `asyncio.to_thread`, as drawing takes
tens to hundreds of milliseconds of CPU. One chart is drawn at a time (matplotlib's settings
are global). Type is large and series are few, so a chart reads on a phone. The font is Noto
Sans CJK (Debian `fonts-noto-cjk`) when installed, so Chinese labels render; DejaVu Sans
otherwise. A count from 1 to 4 is drawn as a hatched bar of nominal height and labelled "<5",
never at its true height.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from bot.domain.stats import (
    FINANCE_SERIES,
    SMALL_COUNT,
    FinanceStats,
    ReviewStats,
    is_small,
    shown,
)

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK", "Source Han Sans SC")
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
NOMINAL_SMALL = SMALL_COUNT / 2
WIDTH_IN, HEIGHT_IN, DPI = 9.0, 11.0, 100
_FONT_SIZE = 17
# rc_context changes matplotlib's global settings: one chart at a time, in whichever thread.
_LOCK = threading.Lock()


@cache
def font_family() -> str:
    """The first CJK family installed, else matplotlib's default (DejaVu Sans)."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), "DejaVu Sans")


@cache
def font_file(bold: bool = False) -> str:
    """The file of font_family()'s regular or bold face, for drawing without matplotlib (the
    posters, with Pillow); a .ttc holds several families, so the family is needed too."""
    weight = "bold" if bold else "normal"
    return str(
        font_manager.findfont(font_manager.FontProperties(family=font_family(), weight=weight))
    )


@dataclass(frozen=True)
class ChartText:
    """Everything a chart writes, in the staff language (the catalogue gives it)."""

    title: str
    labels: Mapping[str, str]  # keys of series, states and headings -> words


def _figure() -> Figure:
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    return figure


def _style(axes: object) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)  # type: ignore[attr-defined]
    axes.tick_params(labelsize=_FONT_SIZE - 2)  # type: ignore[attr-defined]


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _rc() -> dict[Any, Any]:
    return {"font.family": font_family(), "font.size": _FONT_SIZE, "axes.titlesize": _FONT_SIZE + 3}


def review_chart(stats: ReviewStats, text: ChartText) -> bytes:
    """Two panels: tips per week by category (stacked), and the open backlog by state."""
    with _LOCK, matplotlib.rc_context(_rc()):
        figure = _figure()
        figure.suptitle(text.title, fontsize=_FONT_SIZE + 5, fontweight="bold")
        top, bottom = figure.subplots(2, 1, height_ratios=(3, 2))
        weeks = list(stats.weeks)
        positions = list(range(len(weeks)))
        base = [0.0] * len(weeks)
        for index, category in enumerate(stats.categories):
            values = [stats.per_week[w][category] for w in weeks]
            heights = [NOMINAL_SMALL if is_small(v) else float(v) for v in values]
            bars = top.bar(
                positions,
                heights,
                bottom=base,
                color=COLOURS[index % len(COLOURS)],
                label=text.labels.get(category, category),
            )
            for bar, value in zip(bars, values, strict=True):
                if is_small(value):
                    bar.set_hatch("//")
                if value:
                    top.text(
                        bar.get_x() + bar.get_width() / 2,
                        bar.get_y() + bar.get_height() / 2,
                        shown(value),
                        ha="center",
                        va="center",
                        fontsize=_FONT_SIZE - 3,
                        color="white",
                        fontweight="bold",
                    )
            base = [b + h for b, h in zip(base, heights, strict=True)]
        top.set_title(text.labels.get("per_week", "per_week"), loc="left")
        top.set_xticks(positions, [w[5:] for w in weeks])
        top.set_xlabel(text.labels.get("week_of", "week_of"))
        if stats.categories:  # plain swatches: a hatched first bar must not hatch the legend
            swatches = [
                Patch(facecolor=COLOURS[i % len(COLOURS)], label=text.labels.get(c, c))
                for i, c in enumerate(stats.categories)
            ]
            top.legend(handles=swatches, loc="upper left", fontsize=_FONT_SIZE - 4, frameon=False)
        top.yaxis.set_major_locator(MaxNLocator(integer=True))
        top.set_ylim(0, max([*base, 1.0]) * 1.35)
        _style(top)

        states = list(stats.backlog)
        counts = [stats.backlog[s] for s in states]
        heights = [NOMINAL_SMALL if is_small(c) else float(c) for c in counts]
        bars = bottom.barh(
            [text.labels.get(s, s) for s in states], heights, color=COLOURS[0], height=0.6
        )
        for bar, count in zip(bars, counts, strict=True):
            if is_small(count):
                bar.set_hatch("//")
            bottom.text(
                bar.get_width(),
                bar.get_y() + bar.get_height() / 2,
                " " + shown(count),
                va="center",
                fontsize=_FONT_SIZE - 1,
            )
        bottom.invert_yaxis()
        bottom.set_xlim(0, max([*heights, 1.0]) * 1.25)
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.set_title(text.labels.get("backlog", "backlog"), loc="left")
        _style(bottom)
        return _png(figure)


def finance_chart(stats: FinanceStats, text: ChartText, minor_per_major: int) -> bytes:
    """Rewards per month, in whole units of the currency: proposed, approved, paid and
    expired side by side, against the monthly budget (a dashed line) when one is kept."""
    with _LOCK, matplotlib.rc_context(_rc()):
        figure = Figure(figsize=(WIDTH_IN, 7.5), dpi=DPI, layout="constrained")
        figure.suptitle(text.title, fontsize=_FONT_SIZE + 5, fontweight="bold")
        axes = figure.subplots()
        months = [m.month for m in stats.months]
        width = 0.8 / len(FINANCE_SERIES)
        for index, series in enumerate(FINANCE_SERIES):
            xs = [i - 0.4 + width * (index + 0.5) for i in range(len(months))]
            values = [m.amounts[series] / minor_per_major for m in stats.months]
            axes.bar(
                xs,
                values,
                width=width,
                color=COLOURS[index],
                label=text.labels.get(series, series),
            )
        if stats.budget_minor:
            axes.axhline(
                stats.budget_minor / minor_per_major,
                color="black",
                linestyle="--",
                linewidth=2,
                label=text.labels.get("budget", "budget"),
            )
        axes.set_xticks(range(len(months)), [m[2:] for m in months])
        axes.set_ylabel(text.labels.get("amount", "amount"))
        axes.legend(loc="upper left", fontsize=_FONT_SIZE - 4, frameon=False, ncols=2)
        top = max(
            [stats.budget_minor / minor_per_major]
            + [m.amounts[s] / minor_per_major for m in stats.months for s in FINANCE_SERIES]
            + [1.0]
        )
        axes.set_ylim(0, top * 1.3)
        _style(axes)
        return _png(figure)
