"""Server-side SVG charts: well-formed, accessible, escaped, with a data table."""

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from jvap.web import charts

SVG = "{http://www.w3.org/2000/svg}"
DATA = [("D1 Development", 120.0), ("D2 Legal migration", 45.0), ("D3 <Protection>", 0.0)]


def _svg(markup: Markup) -> ET.Element:
    start = markup.index("<svg")
    end = markup.index("</svg>") + len("</svg>")
    return ET.fromstring(str(markup)[start:end])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 1.0),
        (-5, 1.0),
        (1, 1.0),
        (7, 10.0),
        (12, 20.0),
        (20, 20.0),
        (21, 25.0),
        (240, 250.0),
        (260, 500.0),
        (0.3, 0.5),
        (1_234_567, 2_000_000.0),
    ],
)
def test_nice_ceiling(value: float, expected: float) -> None:
    assert charts.nice_ceiling(value) == pytest.approx(expected)


def test_ticks_run_from_zero_to_the_top() -> None:
    assert charts.ticks(200, 4) == [0, 50, 100, 150, 200]


@pytest.mark.parametrize("chart", [charts.bar_chart, charts.line_chart, charts.donut_chart])
def test_chart_is_valid_svg_with_title_description_and_table(chart) -> None:  # type: ignore[no-untyped-def]
    markup = chart(DATA, title="By domain", label_heading="Domain", value_heading="Count")
    svg = _svg(markup)
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby", "").split()
    title = svg.find(f"{SVG}title")
    desc = svg.find(f"{SVG}desc")
    assert title is not None and title.get("id") == title_id and title.text == "By domain"
    assert desc is not None and desc.get("id") == desc_id
    assert desc.text == "D1 Development: 120; D2 Legal migration: 45; D3 <Protection>: 0"
    # The same figures as a table for screen readers and when SVG is unavailable.
    assert "<th scope='row'>D1 Development</th><td class='num'>120</td>" in markup
    assert "<figcaption>By domain</figcaption>" in markup


@pytest.mark.parametrize("chart", [charts.bar_chart, charts.line_chart, charts.donut_chart])
def test_labels_are_escaped(chart) -> None:  # type: ignore[no-untyped-def]
    markup = chart(DATA, title="<script>", label_heading="a&b", value_heading="n")
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    assert "D3 &lt;Protection&gt;" in markup
    assert "a&amp;b" in markup


@pytest.mark.parametrize("chart", [charts.bar_chart, charts.line_chart, charts.donut_chart])
def test_empty_data_says_so(chart) -> None:  # type: ignore[no-untyped-def]
    markup = chart([], title="T", label_heading="L", value_heading="V", empty_text="Nothing yet")
    _svg(markup)
    assert "Nothing yet" in markup


def test_bar_lengths_are_proportional_to_values() -> None:
    svg = _svg(charts.bar_chart(DATA, title="T", label_heading="L", value_heading="V"))
    widths = [float(rect.get("width", "0")) for rect in svg.iter(f"{SVG}rect")]
    assert widths[0] / widths[1] == pytest.approx(120 / 45, rel=1e-3)
    assert widths[2] == 0


def test_line_points_rise_with_values() -> None:
    data = [("2016", 10.0), ("2017", 30.0), ("2018", 20.0)]
    svg = _svg(charts.line_chart(data, title="T", label_heading="L", value_heading="V"))
    ys = [float(c.get("cy", "0")) for c in svg.iter(f"{SVG}circle")]
    # SVG y grows downwards: the largest value is the highest point.
    assert ys[1] < ys[2] < ys[0]
    assert svg.find(f"{SVG}polyline") is not None


def test_donut_segments_share_the_circumference() -> None:
    data = [("accepted", 3.0), ("returned", 1.0)]
    markup = charts.donut_chart(data, title="T", label_heading="L", value_heading="V", center="75%")
    svg = _svg(markup)
    segments = [c for c in svg.iter(f"{SVG}circle") if c.get("stroke-dasharray")]
    lengths = [float(c.get("stroke-dasharray", "0 0").split()[0]) for c in segments]
    assert lengths[0] == pytest.approx(3 * lengths[1], abs=0.05)
    assert "accepted: 3 (75%)" in markup
    assert ">75%</text>" in markup


def test_formatter_is_used_everywhere() -> None:
    markup = charts.bar_chart(
        [("EU", 1500.0)], title="T", label_heading="L", value_heading="V", fmt=lambda v: f"€{v:.0f}"
    )
    assert markup.count("€1500") >= 3  # bar label, tooltip, table


def test_same_chart_renders_the_same_markup() -> None:
    first = charts.bar_chart(DATA, title="T", label_heading="L", value_heading="V")
    second = charts.bar_chart(DATA, title="T", label_heading="L", value_heading="V")
    other = charts.bar_chart(DATA[:1], title="T", label_heading="L", value_heading="V")
    assert first == second
    assert first != other
