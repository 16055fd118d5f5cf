"""Server-rendered bar charts: geometry computed here, drawn as SVG attributes (CSP allows no
inline style or script), so the page needs no JavaScript."""

from __future__ import annotations

from dataclasses import dataclass

from helpline.datafiles import section_text
from registers.stats import Figures
from registers.suppress import cell

_said = section_text("registers", "charts")  # words from data/registers/texts.yaml

BAR_MAX = 260  # pixels for the longest bar
ROW_HEIGHT = 24


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str  # the value as displayed ("<3" when suppressed)
    width: int
    y: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.bars) + 8


def chart(title: str, items: list[tuple[str, int]], suppress: bool | list[bool]) -> Chart:
    """Horizontal bars; a suppressed value gets no bar length, so it cannot be read off.

    `suppress` applies to every bar, or is given per bar (a district's view: its schools are
    suppressed, its own figures are not).
    """
    flags = suppress if isinstance(suppress, list) else [suppress] * len(items)
    shown = [cell(value, flag) for (_, value), flag in zip(items, flags, strict=True)]
    visible = [v for v in shown if isinstance(v, int)]
    top = max(visible, default=0) or 1
    bars = [
        Bar(
            label,
            str(value),
            round(BAR_MAX * value / top) if isinstance(value, int) else 0,
            i * ROW_HEIGHT + 4,
        )
        for i, ((label, _), value) in enumerate(zip(items, shown, strict=True))
    ]
    return Chart(title, bars)


def figure_charts(
    figures: Figures, names: dict[str, dict[str, str]], suppress: bool
) -> list[Chart]:
    """The four breakdowns of one column: category, urgency, channel, reporter."""
    specs = (
        (_said("by_category"), "labels", figures.by_category),
        (_said("by_urgency"), "urgencies", figures.by_urgency),
        (_said("by_channel"), "channels", figures.by_channel),
        (_said("by_reporter"), "reporter_kinds", figures.by_reporter),
    )
    return [
        chart(title, [(word, counts[code]) for code, word in names[table].items()], suppress)
        for title, table, counts in specs
    ]
