"""Chart geometry for the report page, as plain functions: the page draws the shapes as inline SVG
(no script, no CDN), and labels reach the template as data, so Jinja escapes them.

Every function takes the numbers and a size and returns plain dicts of coordinates.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# One colour per funnel stage, in FUNNEL order, shared by the bars and the weekly lines.
PALETTE = ("#7b8794", "#3e7cb1", "#2b5fd9", "#1f9d8a", "#c47f00", "#b83280", "#5a3fc0")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    colour: str
    note: str = ""  # shown after the value (e.g. a conversion rate)


def horizontal_bars(items: Sequence[tuple[str, int]], width: int = 560, bar_height: int = 22, gap: int = 8,
                    label_width: int = 140, notes: Sequence[str] | None = None,
                    colours: Sequence[str] = PALETTE) -> dict:
    """Bars left to right, longest = the largest value; a zero value has no bar but keeps its row.

    Returns {"width", "height", "bars": [Bar], "label_width"}.
    """
    largest = max((value for _, value in items), default=0)
    room = width - label_width - 70  # space for the value at the bar's end
    bars = []
    for index, (label, value) in enumerate(items):
        length = (value / largest * room) if largest else 0
        bars.append(Bar(label=str(label), value=int(value), x=label_width, y=index * (bar_height + gap),
                        width=round(length, 1), height=bar_height, colour=colours[index % len(colours)],
                        note=(notes[index] if notes else "")))
    return {"width": width, "height": max(len(items) * (bar_height + gap) - gap, bar_height),
            "bars": bars, "label_width": label_width}


def weekly_lines(weeks: Sequence[dict], series: Sequence[str], width: int = 640, height: int = 220,
                 colours: Sequence[str] = PALETTE) -> dict:
    """One polyline per series over the weeks (x: week, y: count, 0 at the bottom).

    Returns {"width", "height", "plot": {left, top, right, bottom}, "lines": [{name, colour,
    points, dots}], "ticks": [{x, label}] (at most 8 week labels), "top_value"}.
    """
    left, top, right, bottom = 40, 10, width - 30, height - 30  # room for the last week's label
    top_value = max((week.get(name, 0) for week in weeks for name in series), default=0) or 1
    step = (right - left) / max(len(weeks) - 1, 1)

    def point(index: int, value: int) -> tuple[float, float]:
        x = left + index * step if len(weeks) > 1 else (left + right) / 2
        return round(x, 1), round(bottom - value / top_value * (bottom - top), 1)

    lines = []
    for number, name in enumerate(series):
        dots = [point(index, week.get(name, 0)) for index, week in enumerate(weeks)]
        lines.append({"name": name, "colour": colours[number % len(colours)], "dots": dots,
                      "points": " ".join(f"{x},{y}" for x, y in dots)})
    every = max(1, -(-len(weeks) // 8))
    ticks = [{"x": point(index, 0)[0], "label": week["week"][5:]} for index, week in enumerate(weeks)
             if index % every == 0]
    return {"width": width, "height": height, "plot": {"left": left, "top": top, "right": right, "bottom": bottom},
            "lines": lines, "ticks": ticks, "top_value": top_value}
