"""Widgets the TUI throws away are freed: panes replace widgets (the footer's keys, modal
screens), so anything that pins removed widgets grows the process for as long as it runs.
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


async def test_the_step_view_keeps_rendered_texts_not_widgets(tmp_path: Path) -> None:
    """The step view draws its lines itself: walking the whole chapter mounts no widget
    under it, and keeps at most KEPT rendered texts; coming back to a step reuses its
    lines (rendered once per width)."""
    from labguide.tui.step_texts import KEPT
    from labguide.tui.widgets.step_view import StepView

    app = app_for(l4lb_engine(tmp_path / "run"))
    async with app.run_test(size=(160, 50)) as pilot:
        view = app.query_one(StepView)
        await pilot.pause()
        first = view._body
        await pilot.press("n")
        await pilot.press("b")
        await pilot.pause()
        assert view._body is first
        for _ in range(len(app.plan.steps)):
            await pilot.press("n")
        await pilot.pause()
        assert not list(view.query("*").results())  # no child widgets (scrollbars aside)
        assert len(view.texts._kept) <= KEPT
        assert view.step_id == app.plan.steps[-1].id
        await pilot.press("q")


def cache_fill(app: App[int]) -> dict[str, int]:
    """Entries in each Textual cache of a live widget (the app's own and its widgets')."""
    from textual.cache import LRUCache

    fill: dict[str, int] = {}
    for node in [app.screen, *app.screen.query("*")]:
        for attr, value in vars(node).items():
            if isinstance(value, LRUCache):
                fill[f"{type(node).__name__}#{node.id}.{attr}"] = len(value)
    return fill


async def test_step_changes_do_not_fill_textuals_caches(tmp_path: Path) -> None:
    """A step change must not leave dead cache entries behind: before, every n/b added to the
    step tree's line cache and to the screen's and step view's query_one caches (1,024 each),
    and the process grew for ~15 minutes until they were full. The fill after 220 step
    changes must be what it is after 20 (the tree's: at most one entry per line)."""
    app = app_for(l4lb_engine(tmp_path / "run"))
    async with app.run_test(size=(160, 50)) as pilot:
        tree = app.step_tree
        for rounds in (10, 100):
            for _ in range(rounds):
                await pilot.press("n")
                await pilot.press("b")
            await pilot.pause()
            if rounds == 10:
                early = cache_fill(app)
        late = cache_fill(app)
        await pilot.press("q")
    assert late.pop("StepTree#steps._line_cache") <= tree.line_count + 2
    grew = {k: (early.get(k, 0), n) for k, n in late.items() if n > early.get(k, 0) + 4}
    assert not grew, f"caches that grew with step changes (after 20, after 220): {grew}"
