"""The TUI's reading keys (issue 18, item 6), with Pilot: the arrow keys and a click move
through the steps (reading ahead, nothing runs), the step picker opens and closes without a
screen switch, the output pane shows one host's lines (`h`) or the lines holding a search
(`/`), and `c` copies the current step's command. Steps run over the test sshd."""

from __future__ import annotations

from pathlib import Path

from labguide.engine import Engine
from labguide.events import StepStatus
from tests.tui.conftest import app_for, l4lb_engine
from tests.tui.helpers import settle


async def test_arrows_and_a_click_move_through_the_steps(tmp_path: Path) -> None:
    app = app_for(l4lb_engine(tmp_path / "run"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.current == "template-ready"
        await pilot.press("down", "down")
        assert app.current == app.plan.steps[2].id
        await pilot.press("up")
        assert app.current == app.plan.steps[1].id
        assert all(info.status == StepStatus.PENDING for info in app.infos.values())
        tree = app.step_tree
        line = tree.nodes["client-has-k6"].line  # a click on a step in the list shows it
        top = 1  # the list's border
        await pilot.click(tree, offset=(8, top + line - int(tree.scroll_offset.y)))
        await pilot.pause()
        assert app.current == "client-has-k6"
        section = tree.nodes["create-l4lb-2"].parent
        assert section is not None  # a click on a section: its first step
        await pilot.click(tree, offset=(4, top + section.line - int(tree.scroll_offset.y)))
        await pilot.pause()
        assert app.current == "create-l4lb-2" and section.is_expanded
        await pilot.press("q")


async def test_the_step_picker_takes_the_arrows_while_it_is_open(tmp_path: Path) -> None:
    app = app_for(l4lb_engine(tmp_path / "run"))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("j")
        assert app.jump_panel.is_open and app.screen is screen  # no screen switch
        assert str(app.step_view.border_title).startswith("Jump to a step")
        await pilot.press("down", "down", "down")
        assert app.current == "template-ready"  # the arrows move the picker's highlight
        await pilot.press("enter")
        await pilot.pause()
        assert not app.jump_panel.is_open and app.current == app.plan.steps[3].id
        assert all(info.status == StepStatus.PENDING for info in app.infos.values())
        await pilot.press("j")
        await pilot.press("escape")
        assert not app.jump_panel.is_open
        await pilot.press("j", "j")  # j again closes it too
        assert not app.jump_panel.is_open
        await pilot.press("down")
        assert app.current == app.plan.steps[4].id
        assert str(app.step_view.border_title).startswith("Step 5/70")
        await pilot.press("j")  # a click on a step in the picker chooses it
        await pilot.pause()
        top = int(app.step_view.scroll_offset.y)
        await pilot.click(app.step_view, offset=(5, 1 + 10 - top))  # border, then line 10
        await pilot.pause()
        assert not app.jump_panel.is_open and app.current == app.plan.steps[10].id
        await pilot.press("q")


async def test_one_hosts_output_and_a_search(mini_engine: Engine) -> None:
    app = app_for(mini_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")  # hello: on lb-1 and lb-2, two lines each
        await settle(pilot)
        await pilot.press("b")
        await pilot.pause()
        pane = app.output_pane
        both = list(pane.lines)
        assert any(ln.startswith("lb-1 ") for ln in both)
        assert any(ln.startswith("lb-2 ") for ln in both)
        await pilot.press("h")
        assert pane.lines and all(ln.startswith("lb-1 ") for ln in pane.lines)
        assert "host lb-1" in str(pane.border_title)
        await pilot.press("h")
        assert pane.lines and all(ln.startswith("lb-2 ") for ln in pane.lines)
        await pilot.press("h")
        assert list(pane.lines) == both and str(pane.border_title) == "Output"
        await pilot.press("slash", *"SECOND")  # typed into the search, not keys
        assert app.current == "hello" and pane.typing
        assert sorted(ln.split(" ", 1)[0] for ln in pane.lines) == ["lb-1", "lb-2"]
        assert all("second line" in ln for ln in pane.lines)
        assert "/SECOND▏ (2 lines)" in str(pane.border_title)
        await pilot.press("backspace", "enter")
        assert not pane.typing and pane.search == "SECON" and len(pane.lines) == 2
        await pilot.press("n")  # keys are keys again; the search stays over steps
        assert app.current == "check-ok" and pane.search == "SECON"
        await pilot.press("escape")
        assert pane.search == "" and str(pane.border_title) == "Output"
        await pilot.press("q")


async def test_c_copies_the_current_steps_command(mini_engine: Engine) -> None:
    app = app_for(mini_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == app.plan.bound("hello").shown
        assert "hello world from $(hostname)" in app.clipboard  # the lab's values bound
        assert str(app.output_pane.border_subtitle) == "copied hello's command (2 lines)"
        await pilot.press("q")
