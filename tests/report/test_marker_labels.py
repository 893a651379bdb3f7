"""Marker labels in the report's charts: in lanes above the plot, never over each other or
over the data, inside the picture, in any language; a label with no lane left keeps its line
and its tooltip."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from labguide.report.runlog import Span
from labguide.report.svg import (
    LABEL_GAP,
    MAX_LANES,
    WIDTH,
    Marker,
    PlacedMarker,
    Scale,
    load_chart,
    place_markers,
    text_width,
    vip_timeline,
)

SCALE = Scale(0.0, 60.0)
labels = st.sampled_from(["stop-keepalived", "break", "198.18.16.140 back on l4lb-1",
                          "l4lb-1でKeepalivedを停止", "reboot-l4lb-1-in-maintenance",
                          "a-step-id-" * 12])


def box(p: PlacedMarker) -> tuple[float, float]:
    width = text_width(p.label)
    return (p.x - 3 - width, p.x - 3) if p.leftward else (p.x + 3, p.x + 3 + width)


@given(st.lists(st.tuples(st.floats(0.0, 60.0), labels), max_size=40))
def test_labels_in_one_lane_never_overlap_and_stay_inside(found: list[tuple[float, str]]
                                                          ) -> None:
    placed = place_markers(SCALE, [Marker(t, label) for t, label in found])
    assert len(placed) == len(found)
    by_lane: dict[int, list[tuple[float, float]]] = {}
    for p in placed:
        if p.lane is None:
            continue
        assert 0 <= p.lane < MAX_LANES
        x0, x1 = box(p)
        assert 0 <= x0 and x1 <= WIDTH, p
        by_lane.setdefault(p.lane, []).append((x0, x1))
    for boxes in by_lane.values():
        boxes.sort()
        for (_a0, a1), (b0, _b1) in zip(boxes, boxes[1:], strict=False):
            assert a1 + LABEL_GAP <= b0 + 1e-9


def test_close_markers_take_lanes_and_the_plot_moves_down_below_them() -> None:
    markers = [Marker(10.0, "stop-keepalived"), Marker(10.5, "198.18.16.140 on l4lb-2"),
               Marker(30.0, "start-keepalived")]
    placed = place_markers(SCALE, markers)
    assert [p.lane for p in placed] == [0, 1, 0]
    vip = "198.18.16.140"
    svg = vip_timeline(vip, [Span(vip, "l4lb-1", 0.0, 10.2)], ["l4lb-1", "l4lb-2"], SCALE,
                       markers)
    # the host rows start below both lanes: 24 + 2 lanes × 12 + 4
    rows = [float(y) for y in re.findall(r'class="vip-span"[^>]* y="([\d.]+)"', svg)]
    labels = [float(y) for y in re.findall(r'<text x="[\d.]+" y="([\d.]+)" '
                                           r'class="marker-label"', svg)]
    assert len(labels) == 3 and max(labels) < min(rows)


def test_a_label_at_the_right_edge_ends_at_its_line() -> None:
    placed = place_markers(SCALE, [Marker(59.0, "198.18.16.140 back on l4lb-1")])
    assert placed[0].leftward and box(placed[0])[1] <= WIDTH
    assert 'text-anchor="end"' in load_chart("load", [], SCALE, [Marker(59.0, "back")])


def test_a_label_too_long_for_either_side_is_cut_and_whole_in_its_tooltip() -> None:
    step = "a-step-id-" * 12
    placed = place_markers(SCALE, [Marker(30.0, step)])
    assert placed[0].label.endswith("…") and box(placed[0])[1] <= WIDTH
    assert placed[0].title == f"{step} at 30.0 s"
    assert f"<title>{step} at 30.0 s</title>" in load_chart("load", [], SCALE,
                                                            [Marker(30.0, step)])


def test_more_markers_than_lanes_keep_their_lines_and_tooltips() -> None:
    markers = [Marker(10.0 + i / 100, f"step-{i}") for i in range(MAX_LANES + 3)]
    placed = place_markers(SCALE, markers)
    assert [p.lane for p in placed][MAX_LANES:] == [None] * 3
    svg = load_chart("load", [], SCALE, markers)
    assert svg.count('<g class="marker">') == MAX_LANES + 3
    assert svg.count('class="marker-label"') == MAX_LANES
    assert "<title>step-8 at 10.1 s</title>" in svg
