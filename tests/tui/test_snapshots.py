"""Snapshots of the main screen (pytest-textual-snapshot) at 100×30 and 160×50 in the states
the issue lists, in English and in Japanese (the Japanese chapter and interface: CJK text is
two cells a character). Time is frozen: events carry fixed times (T0) and TZ is UTC."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from labguide import i18n
from labguide.tui.app import LabguideApp
from tests.tui.conftest import app_for, l4lb_engine
from tests.tui.scenes import SCENES

SIZES = [(100, 30), (160, 50)]


def compare(scene: str, size: tuple[int, int], snap_compare: Callable[..., bool],
            folder: Path, lang: str) -> bool:
    app = app_for(l4lb_engine(folder, lang))
    setup = SCENES[scene]

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        assert isinstance(pilot.app, LabguideApp)
        if setup is not None:
            setup(pilot.app)
        await pilot.pause()
        await pilot.pause()

    return snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", list(SCENES))
def test_main_screen(scene: str, size: tuple[int, int], snap_compare: Callable[..., bool],
                     tmp_path: Path) -> None:
    with i18n.speaking("en"):
        assert compare(scene, size, snap_compare, tmp_path / "run", "en")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", list(SCENES))
def test_main_screen_ja(scene: str, size: tuple[int, int], snap_compare: Callable[..., bool],
                        tmp_path: Path) -> None:
    with i18n.speaking("ja"):
        assert i18n.language() == "ja", "the Japanese catalog is not compiled (pip install -e .)"
        assert compare(scene, size, snap_compare, tmp_path / "run", "ja")
