"""Screenshots compared with saved references, tolerant of font and antialiasing noise.

Pixels are never compared one by one: another version of a font, its hinting or chromium's
antialiasing moves glyph edges by a pixel and changes thousands of pixels while the page
looks the same. Both pictures are instead cut into cells of CELL × CELL pixels and each
cell reduced to two numbers (Pillow's box reduction, which averages):
- its mean grey level: text and lines still weigh in a cell's mean, but a glyph drawn a
  pixel off or a shade lighter changes it by a few levels of 255, a missing or moved
  chart, bar, line of text or colour block by tens;
- its share of coloured pixels (chroma, max−min of R, G, B, over 32: the charts' blues,
  the outages' and gaps' reds, the markers' orange), so a coloured block drawn elsewhere is
  seen even where its grey is close to the background's.
The pictures match when the mean absolute difference of the grey cells is at most
`MEAN_LIMIT`, at most `CELL_SHARE` of the cells differ in grey by more than `CELL_LIMIT` (a
number that differs, a glyph here and there), and at most `COLOUR_SHARE` of the cells
differ in their coloured share by more than half (`COLOUR_LIMIT`): a coloured glyph
shifted by a pixel changes its cell's share a little, a block moved or missing changes
whole cells. Tried on tests/report/test_report_picture.py's page: chromium without
subpixel positioning of glyphs (another antialiasing) gave mean 1.65, 0.5 % grey cells,
0 colour cells, and passes; the run's outage drawn 0.5 s later gave 0.7 % colour cells,
a drill outage left out 0.26 %, the drill left out 0.5 % and mean 5.5: all three fail.

References live in the tests' `data/` folders. To write them again (after a deliberate
change of the page or the TUI, on this machine, then look at them before committing):
    LABGUIDE_UPDATE_SCREENS=1 .venv/bin/pytest -q -m "not sandbox" \
        tests/report tests/tui/test_serve.py
A mismatch saves the cells' difference as `PATH.diff.png` beside the screenshot.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops

CELL = 8
MEAN_LIMIT = 2.5
CELL_LIMIT = 40
CELL_SHARE = 0.01
CHROMA = 32
COLOUR_LIMIT = 128
COLOUR_SHARE = 0.001
UPDATE = os.environ.get("LABGUIDE_UPDATE_SCREENS") == "1"


@dataclass(frozen=True)
class Difference:
    mean: float
    cells_off: float
    colour_off: float
    size: tuple[int, int]
    reference_size: tuple[int, int]

    @property
    def ok(self) -> bool:
        return (self.size == self.reference_size and self.mean <= MEAN_LIMIT
                and self.cells_off <= CELL_SHARE and self.colour_off <= COLOUR_SHARE)


def _cells(img: Image.Image) -> tuple[Image.Image, Image.Image]:
    """(mean grey per cell, share of coloured pixels per cell as 0-255)."""
    rgb = img.convert("RGB")
    w, h = rgb.size
    rgb = rgb.crop((0, 0, w - w % CELL, h - h % CELL))
    grey = rgb.convert("L").reduce(CELL)
    r, g, b = rgb.split()
    chroma = ImageChops.subtract(ImageChops.lighter(ImageChops.lighter(r, g), b),
                                 ImageChops.darker(ImageChops.darker(r, g), b))
    coloured = chroma.point(lambda v: 255 if v > CHROMA else 0).reduce(CELL)
    return grey, coloured


def difference(shot: Path, reference: Path) -> Difference:
    with Image.open(shot) as a, Image.open(reference) as b:
        if a.size != b.size:
            return Difference(255.0, 1.0, 1.0, a.size, b.size)
        (ga, ca), (gb, cb) = _cells(a), _cells(b)
    grey = ImageChops.difference(ga, gb)
    values = grey.tobytes()
    mean = sum(values) / len(values)
    off = sum(1 for v in values if v > CELL_LIMIT) / len(values)
    colour = ImageChops.difference(ca, cb).tobytes()
    colour_off = sum(1 for v in colour if v > COLOUR_LIMIT) / len(colour)
    if mean > MEAN_LIMIT or off > CELL_SHARE or colour_off > COLOUR_SHARE:
        ImageChops.lighter(grey, ImageChops.difference(ca, cb)).point(
            lambda v: min(255, v * 4)).save(shot.with_suffix(".diff.png"))
    return Difference(mean, off, colour_off, a.size, b.size)


def assert_looks_like(shot: Path, reference: Path) -> Difference:
    """The screenshot matches its reference (see the module); with LABGUIDE_UPDATE_SCREENS=1
    it becomes the reference instead."""
    if UPDATE or not reference.exists():
        if not UPDATE:
            raise AssertionError(f"no reference {reference}: write it with "
                                 "LABGUIDE_UPDATE_SCREENS=1 (see tests/screens.py)")
        reference.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, reference)
    d = difference(shot, reference)
    assert d.ok, (f"{shot} does not look like {reference}: {d} (limits: mean {MEAN_LIMIT}, "
                  f"cells over {CELL_LIMIT}: {CELL_SHARE:.1%}, colour cells over {COLOUR_LIMIT}: "
                  f"{COLOUR_SHARE:.1%})")
    return d
