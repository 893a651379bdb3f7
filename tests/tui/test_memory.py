"""Widgets the TUI throws away are freed: the step view replaces its Markdown blocks on every
step change, so anything that pins removed widgets grows the process for as long as it runs.
Counts live objects (no timings): Textual's StylesCache, one per widget ever created."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from labguide.tui import textual_fixes
from tests.tui.conftest import app_for, l4lb_engine

ROUNDS, PER_ROUND = 60, 20


def live_styles_caches() -> int:
    from textual._styles_cache import StylesCache

    gc.collect()
    return sum(isinstance(o, StylesCache) for o in gc.get_objects())


class Churn(App[None]):
    def compose(self) -> ComposeResult:
        yield Vertical(id="list")


async def churned_app_caches() -> tuple[int, int]:
    """(StylesCache objects alive, widgets alive) after ROUNDS × PER_ROUND labels came and
    went, each one painted once."""
    app = Churn()
    async with app.run_test(size=(60, 30)) as pilot:
        box = app.query_one("#list")
        for n in range(ROUNDS):
            await box.remove_children()
            await box.mount_all([Label(f"card {n}.{i}") for i in range(PER_ROUND)])
            await pilot.pause()  # painted: get_inner_outer ran for each label
        widgets = len(list(app.screen.walk_children(with_self=True)))
        return live_styles_caches(), widgets


async def test_removed_widgets_are_freed() -> None:
    alive, widgets = await churned_app_caches()
    assert alive <= widgets + 10, (
        f"{alive} StylesCache objects alive for {widgets} widgets after "
        f"{ROUNDS * PER_ROUND} labels were removed")


async def test_textuals_own_cache_still_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fix is needed: with Textual's own method the removed widgets stay alive. When this
    fails, upstream fixed Textualize/textual#6665 and labguide/tui/textual_fixes.py can go."""
    if not textual_fixes.leaks():
        pytest.skip("the installed Textual no longer pins StylesCache: drop textual_fixes")
    from textual._styles_cache import StylesCache

    monkeypatch.setattr(StylesCache, "get_inner_outer", textual_fixes._ORIGINAL)  # noqa: SLF001
    textual_fixes._ORIGINAL.cache_clear()  # noqa: SLF001
    alive, widgets = await churned_app_caches()
    textual_fixes._ORIGINAL.cache_clear()  # noqa: SLF001
    assert alive > widgets + ROUNDS * PER_ROUND // 2


async def test_stepping_through_the_chapter_keeps_widget_count(tmp_path: Path) -> None:
    """200 step changes (n, b) leave no more widget caches alive than there are widgets."""
    app = app_for(l4lb_engine(tmp_path / "run"))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        for _ in range(100):
            await pilot.press("n")
            await pilot.press("b")
        await pilot.pause()
        widgets = len(list(app.screen.walk_children(with_self=True)))
        alive = live_styles_caches()
        await pilot.press("q")
    assert alive <= widgets + 10, f"{alive} StylesCache objects alive for {widgets} widgets"


async def test_the_step_view_keeps_a_few_step_texts(tmp_path: Path) -> None:
    """Walking the whole chapter keeps at most KEPT_STEPS texts mounted, only the current
    one shown; coming back to a kept step reuses its widget."""
    from textual.widgets import Markdown

    from labguide.tui.widgets.step_view import KEPT_STEPS, StepView

    app = app_for(l4lb_engine(tmp_path / "run"))
    async with app.run_test(size=(160, 50)) as pilot:
        view = app.query_one(StepView)
        await pilot.pause()
        first = view.text
        await pilot.press("n")
        await pilot.press("b")
        await pilot.pause()
        assert view.text is first
        for _ in range(len(app.plan.steps)):
            await pilot.press("n")
        await pilot.pause()
        texts = list(view.query(Markdown).results())
        assert len(texts) <= KEPT_STEPS
        assert [t for t in texts if t.display] == [view.text]
        assert view.step_id == app.plan.steps[-1].id
        assert first not in texts
        await pilot.press("q")
