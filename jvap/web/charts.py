"""Server-side SVG charts (bar, line, donut), each with a title and a data table as fallback."""

import hashlib
import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

# Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
INK = "#1f2933"
GRID = "#d0d7de"

Formatter = Callable[[float], str]


def _chart_id(title: str, data: Sequence[tuple[str, float]]) -> str:
    """A stable id from the content, so the same chart renders the same markup."""
    return "chart-" + hashlib.sha1(f"{title}{data!r}".encode()).hexdigest()[:10]


def _plain(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def nice_ceiling(value: float) -> float:
    """Smallest 1, 2, 2.5 or 5 × 10^n at or above `value`: a readable top for an axis."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude * (1 + 1e-9):
            return step * magnitude
    return 10 * magnitude


def ticks(top: float, n: int = 4) -> list[float]:
    """`n` + 1 evenly spaced axis values from 0 to `top`."""
    return [top * i / n for i in range(n + 1)]


def _figure(
    svg: str,
    *,
    chart_id: str,
    title: str,
    data: Sequence[tuple[str, float]],
    label_heading: str,
    value_heading: str,
    fmt: Formatter,
    table_caption: str,
) -> Markup:
    rows = "".join(
        f"<tr><th scope='row'>{escape(label)}</th><td class='num'>{escape(fmt(value))}</td></tr>"
        for label, value in data
    )
    return Markup(
        f"<figure class='chart' id='{chart_id}'>"
        f"<figcaption>{escape(title)}</figcaption>{svg}"
        f"<details class='chart-data'><summary>{escape(table_caption)}</summary>"
        f"<table><thead><tr><th scope='col'>{escape(label_heading)}</th>"
        f"<th scope='col'>{escape(value_heading)}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></details></figure>"
    )


def _svg_open(chart_id: str, width: int, height: int, title: str, desc: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='100%' role='img' aria-labelledby='{chart_id}-t {chart_id}-d' "
        f"font-family='system-ui, sans-serif' font-size='13'>"
        f"<title id='{chart_id}-t'>{escape(title)}</title>"
        f"<desc id='{chart_id}-d'>{escape(desc)}</desc>"
    )


def _describe(data: Sequence[tuple[str, float]], fmt: Formatter) -> str:
    return "; ".join(f"{label}: {fmt(value)}" for label, value in data)


def bar_chart(
    data: Sequence[tuple[str, float]],
    *,
    title: str,
    label_heading: str,
    value_heading: str,
    table_caption: str = "Data table",
    empty_text: str = "No data",
    fmt: Formatter = _plain,
    width: int = 560,
    label_width: int = 200,
) -> Markup:
    """Horizontal bars, one per (label, value), longest label area on the left."""
    chart_id = _chart_id(title, data)
    bar, gap, top_pad = 22, 8, 8
    height = top_pad * 2 + max(1, len(data)) * (bar + gap)
    svg = [_svg_open(chart_id, width, height, title, _describe(data, fmt) or empty_text)]
    if not data:
        svg.append(
            f"<text x='{width / 2}' y='{height / 2 + 4}' text-anchor='middle' "
            f"fill='{INK}'>{escape(empty_text)}</text>"
        )
    top = nice_ceiling(max((v for _, v in data), default=0))
    plot = width - label_width - 90
    for i, (label, value) in enumerate(data):
        y = top_pad + i * (bar + gap)
        length = max(0.0, value) / top * plot
        # About 7 px a character at 13 px: cut what would run past the left edge.
        fits = max(4, (label_width - 12) // 7)
        short = label if len(label) <= fits else label[: fits - 1] + "…"
        svg.append(
            f"<g><title>{escape(label)}: {escape(fmt(value))}</title>"
            f"<text x='{label_width - 8}' y='{y + bar * 0.7}' text-anchor='end' "
            f"fill='{INK}'>{escape(short)}</text>"
            f"<rect x='{label_width}' y='{y}' width='{length:.1f}' height='{bar}' "
            f"fill='{PALETTE[0]}' rx='2'/>"
            f"<text x='{label_width + length + 6:.1f}' y='{y + bar * 0.7}' "
            f"fill='{INK}'>{escape(fmt(value))}</text></g>"
        )
    svg.append("</svg>")
    return _figure(
        "".join(svg),
        chart_id=chart_id,
        title=title,
        data=data,
        label_heading=label_heading,
        value_heading=value_heading,
        fmt=fmt,
        table_caption=table_caption,
    )


def line_chart(
    data: Sequence[tuple[str, float]],
    *,
    title: str,
    label_heading: str,
    value_heading: str,
    table_caption: str = "Data table",
    empty_text: str = "No data",
    fmt: Formatter = _plain,
    width: int = 560,
    height: int = 260,
) -> Markup:
    """A line over ordered categories (years), with a 0-based axis and gridlines."""
    chart_id = _chart_id(title, data)
    left, right, top_pad, bottom = 64, 16, 16, 32
    svg = [_svg_open(chart_id, width, height, title, _describe(data, fmt) or empty_text)]
    top = nice_ceiling(max((v for _, v in data), default=0))
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    for tick in ticks(top):
        y = top_pad + plot_h - tick / top * plot_h
        svg.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' "
            f"stroke='{GRID}'/><text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' "
            f"fill='{INK}'>{escape(fmt(tick))}</text>"
        )
    if not data:
        svg.append(
            f"<text x='{width / 2}' y='{height / 2}' text-anchor='middle' "
            f"fill='{INK}'>{escape(empty_text)}</text>"
        )
    step = plot_w / max(1, len(data) - 1) if len(data) > 1 else 0
    points = []
    for i, (label, value) in enumerate(data):
        x = left + (i * step if len(data) > 1 else plot_w / 2)
        y = top_pad + plot_h - max(0.0, value) / top * plot_h
        points.append((x, y, label, value))
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        svg.append(
            f"<polyline points='{path}' fill='none' stroke='{PALETTE[0]}' stroke-width='2.5'/>"
        )
    # Label every tick when they fit, else about ten of them.
    every = max(1, math.ceil(len(points) / 10))
    for i, (x, y, label, value) in enumerate(points):
        svg.append(
            f"<g><title>{escape(label)}: {escape(fmt(value))}</title>"
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='4' fill='{PALETTE[0]}'/></g>"
        )
        if i % every == 0 or i == len(points) - 1:
            svg.append(
                f"<text x='{x:.1f}' y='{height - 10}' text-anchor='middle' "
                f"fill='{INK}'>{escape(label)}</text>"
            )
    svg.append("</svg>")
    return _figure(
        "".join(svg),
        chart_id=chart_id,
        title=title,
        data=data,
        label_heading=label_heading,
        value_heading=value_heading,
        fmt=fmt,
        table_caption=table_caption,
    )


def donut_chart(
    data: Sequence[tuple[str, float]],
    *,
    title: str,
    label_heading: str,
    value_heading: str,
    table_caption: str = "Data table",
    empty_text: str = "No data",
    center: str | None = None,
    fmt: Formatter = _plain,
    width: int = 520,
) -> Markup:
    """Shares of a whole as ring segments, with a legend giving values and percentages."""
    chart_id = _chart_id(title, data)
    radius, stroke = 70, 28
    cx = cy = radius + stroke
    legend_x = 2 * (radius + stroke) + 20
    height = max(2 * (radius + stroke), 24 * len(data) + 16)
    total = sum(max(0.0, v) for _, v in data)
    svg = [_svg_open(chart_id, width, height, title, _describe(data, fmt) or empty_text)]
    svg.append(
        f"<circle cx='{cx}' cy='{cy}' r='{radius}' fill='none' stroke='{GRID}' "
        f"stroke-width='{stroke}'/>"
    )
    circumference = 2 * math.pi * radius
    offset = 0.0
    for i, (label, value) in enumerate(data):
        share = max(0.0, value) / total if total else 0.0
        colour = PALETTE[i % len(PALETTE)]
        if share > 0:
            length = share * circumference
            # Start at 12 o'clock and go clockwise.
            svg.append(
                f"<circle cx='{cx}' cy='{cy}' r='{radius}' fill='none' stroke='{colour}' "
                f"stroke-width='{stroke}' stroke-dasharray='{length:.2f} "
                f"{circumference - length:.2f}' stroke-dashoffset='{-offset:.2f}' "
                f"transform='rotate(-90 {cx} {cy})'><title>{escape(label)}: "
                f"{escape(fmt(value))} ({share:.0%})</title></circle>"
            )
            offset += length
        y = 16 + i * 24
        svg.append(
            f"<rect x='{legend_x}' y='{y - 11}' width='14' height='14' fill='{colour}'/>"
            f"<text x='{legend_x + 20}' y='{y}' fill='{INK}'>{escape(label)}: "
            f"{escape(fmt(value))} ({share:.0%})</text>"
        )
    text = center if center is not None else (fmt(total) if data else empty_text)
    svg.append(
        f"<text x='{cx}' y='{cy + 6}' text-anchor='middle' font-size='20' font-weight='bold' "
        f"fill='{INK}'>{escape(text)}</text></svg>"
    )
    return _figure(
        "".join(svg),
        chart_id=chart_id,
        title=title,
        data=data,
        label_heading=label_heading,
        value_heading=value_heading,
        fmt=fmt,
        table_caption=table_caption,
    )
