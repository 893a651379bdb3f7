"""Pilot tests of the step flow: steps really run over SSH (the shared sshd fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.message import Message

from labguide.engine import Engine
from labguide.errors import LabguideError
from labguide.events import Output, StepFinished, StepStarted, StepStatus
from labguide.state import StepRecord
from labguide.tui.app import LabguideApp, make_app
from labguide.tui.keymap import TuiSettings, load_settings
from labguide.tui.launch import launch
from labguide.tui.messages import OutputBatch, StepEvent
from labguide.tui.screens.confirm import ConfirmScreen
from labguide.tui.screens.diff import DiffScreen
from labguide.tui.widgets.output import OutputPane
from labguide.tui.widgets.step_view import FailurePanel
from labguide.tui.widgets.steps import StepTree
from tests.conftest import Sshd
from tests.tui.conftest import app_for, make_engine
from tests.tui.helpers import Expect, settle, until_screen


def status(app: LabguideApp, step_id: str) -> StepStatus:
    return app.infos[step_id].status


def log_text(app: LabguideApp) -> str:
    pane = app.query_one(OutputPane)
    return "\n".join(pane.lines)


async def test_run_step_streams_output_per_host_and_advances(mini_engine: Engine) -> None:
    seen: list[Message] = []
    app = app_for(mini_engine)
    async with app.run_test(size=(100, 30), message_hook=seen.append) as pilot:
        assert app.current == "hello"
        await pilot.press("r")
        await settle(pilot)
        assert app.infos["hello"].status == StepStatus.PASSED
        assert mini_engine.results["hello"].status == StepStatus.PASSED
        assert app.current == "check-ok"
        lines = list(app.infos["hello"].output)
        assert any(line.startswith("lb-1 │ hello world from") for line in lines)
        assert any(line.startswith("lb-2 │ hello world from") for line in lines)
        events = [m.event for m in seen if isinstance(m, StepEvent)]
        started = [e for e in events if isinstance(e, StepStarted)]
        finished = [e for e in events if isinstance(e, StepFinished)]
        assert [e.step_id for e in started] == ["hello"]
        assert finished[0].status == StepStatus.PASSED
        batches = [m for m in seen if isinstance(m, OutputBatch)]
        assert batches and sum(len(b.lines) for b in batches) >= 4  # batched, not per line
        label = app.query_one(StepTree).nodes["hello"].label
        assert "✓" in str(label)
        await pilot.press("q")


async def test_disruptive_step_asks_before_running(mini_engine: Engine) -> None:
    app = app_for(mini_engine, start="stop-it")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await until_screen(pilot, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert status(app, "stop-it") == StepStatus.PENDING
        assert "stop-it" not in mini_engine.results
        await pilot.press("r")
        await until_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert status(app, "stop-it") == StepStatus.PASSED
        assert app.current == "fails"
        await pilot.press("q")


async def test_file_step_shows_the_diff_then_writes(mini_engine: Engine, tmp_path: Path) -> None:
    app = app_for(mini_engine, start="write-conf")
    target = tmp_path / "lgt-tui-conf" / "app.conf"
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        screen = await until_screen(pilot, DiffScreen)
        assert isinstance(screen, DiffScreen)
        assert "+name = world" in screen.diffs["lb-1"]
        assert not target.exists()  # nothing written before the answer
        await pilot.press("y")
        await settle(pilot)
        assert target.read_text() == "name = world\n"
        assert app.infos["write-conf"].status == StepStatus.PASSED
        await pilot.press("q")


async def test_failed_step_shows_output_exit_status_and_hint_then_retry(
        mini_engine: Engine, tmp_path: Path) -> None:
    app = app_for(mini_engine, start="fails")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await settle(pilot)
        info = app.infos["fails"]
        assert info.status == StepStatus.FAILED
        assert info.exits == {"lb-1": 3}
        assert app.current == "fails"  # stays on the failed step
        panel = app.query_one(FailurePanel)
        assert panel.has_class("-shown")
        text = str(panel.describe(app.plan.bound("fails"), info, app.keys).renderables[1])
        assert "exit status 3" in text
        hint = str(panel.describe(app.plan.bound("fails"), info, app.keys).renderables[2])
        assert "create the marker file" in hint
        assert "lb-1 ! no marker" in log_text(app)
        (tmp_path / "lgt-tui-conf").mkdir(exist_ok=True)
        (tmp_path / "lgt-tui-conf" / "marker").touch()
        await pilot.press("t")
        await settle(pilot)
        assert app.infos["fails"].status == StepStatus.PASSED
        assert not panel.has_class("-shown") or app.current != "fails"
        assert app.current == "slow"
        await pilot.press("q")


def sleeping_30() -> set[int]:
    """Live (not zombie) processes running `sleep 30`."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if (proc / "cmdline").read_bytes() == b"sleep\x0030\x00" and (
                    proc / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.add(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.mark.parametrize("key", ["ctrl+c", "escape"])
async def test_cancel_stops_the_running_command_not_the_app(mini_engine: Engine, key: str) -> None:
    app = app_for(mini_engine, start="slow")
    async with app.run_test(size=(100, 30)) as pilot:
        started = Expect(mini_engine, lambda e: isinstance(e, Output) and e.line == "started")
        await pilot.press("r")
        await started.wait(pilot)
        assert app.step_running
        remote = sleeping_30()  # the step's remote `sleep 30` (the test sshd is this machine)
        assert remote
        await pilot.press(key)
        await settle(pilot)
        assert app.is_running
        for _ in range(100):
            if not remote & sleeping_30():
                break
            await pilot.pause(0.05)
        assert not remote & sleeping_30(), "the remote command must be gone"
        assert mini_engine.results["slow"].status == StepStatus.CANCELLED
        assert app.infos["slow"].status == StepStatus.CANCELLED
        assert not app.step_running
        await pilot.press("q")


async def test_skip_back_and_jump(mini_engine: Engine) -> None:
    app = app_for(mini_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        assert app.infos["hello"].status == StepStatus.SKIPPED
        assert mini_engine.state is not None
        assert mini_engine.state.status("hello") == StepStatus.SKIPPED
        assert app.current == "check-ok"
        await pilot.press("b")
        await pilot.pause()
        assert app.current == "hello"
        await pilot.press("j")
        await pilot.pause()
        assert app.jump_panel.is_open
        for _ in range(4):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert app.current == app.plan.steps[4].id == "fails"
        await pilot.press("q")


async def test_back_and_rerun_a_passed_step(mini_engine: Engine) -> None:
    app = app_for(mini_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("b")
        await pilot.pause()
        assert app.current == "hello"
        done = Expect(mini_engine, lambda e: isinstance(e, StepFinished))
        await pilot.press("r")
        await done.wait(pilot)
        await settle(pilot)
        assert app.infos["hello"].status == StepStatus.PASSED
        await pilot.press("q")


async def test_run_rest_of_section_with_the_diff_modal(mini_engine: Engine) -> None:
    app = app_for(mini_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("R")
        await until_screen(pilot, DiffScreen)
        await pilot.press("y")
        await settle(pilot)
        assert [app.infos[s].status for s in ("hello", "check-ok", "write-conf")] == [
            StepStatus.PASSED] * 3
        assert app.infos["stop-it"].status == StepStatus.PENDING  # next section: not run
        assert app.current == "stop-it"
        await pilot.press("q")


async def test_quit_and_start_again_resumes(mini_chapter: Path, sshd: Sshd,
                                            tmp_path: Path) -> None:
    hosts = {"lb-1": sshd.host("lb-1"), "lb-2": sshd.host("lb-2")}
    engine = make_engine(mini_chapter, hosts, tmp_path / "run")
    app = app_for(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    again = make_engine(mini_chapter, hosts, tmp_path / "run")
    app2 = app_for(again)
    async with app2.run_test(size=(100, 30)) as pilot2:
        assert app2.current == "check-ok"
        assert app2.infos["hello"].status == StepStatus.PASSED
        assert any("hello world" in line for line in app2.infos["hello"].output)
        assert "✓" in str(app2.query_one(StepTree).nodes["hello"].label)
        await pilot2.press("q")


async def test_keys_are_remapped_from_the_settings_file(mini_engine: Engine,
                                                         tmp_path: Path) -> None:
    conf = tmp_path / "config" / "tui.toml"
    conf.parent.mkdir(parents=True)
    conf.write_text('stream_rate = 20\n[keymap]\nrun_step = "x"\n')
    settings = load_settings()
    assert settings.keymap == {"run_step": "x"} and settings.stream_rate == 20
    app = make_app(mini_engine, settings=settings, watch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await settle(pilot)
        assert status(app, "hello") == StepStatus.PENDING
        await pilot.press("x")
        await settle(pilot)
        assert status(app, "hello") == StepStatus.PASSED
        await pilot.press("q")


def test_bad_settings_are_located_errors(tmp_path: Path) -> None:
    conf = tmp_path / "tui.toml"
    conf.write_text('[keymap]\nrun_the_step = "x"\n')
    with pytest.raises(LabguideError, match="unknown key binding id") as err:
        load_settings(conf)
    assert err.value.location is not None and err.value.location.file == conf


async def test_theme_follows_textual_themes(mini_engine: Engine) -> None:
    with pytest.raises(LabguideError, match="unknown theme"):
        make_app(mini_engine, theme="no-such-theme", settings=TuiSettings(), watch=False)
    app = make_app(mini_engine, theme="nord", settings=TuiSettings(), watch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "nord"
        await pilot.press("q")


def test_launch_without_a_terminal_suggests_plain(
        mini_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert launch(mini_engine) == 2
    err = capsys.readouterr().err
    assert "not a TTY" in err and "--plain" in err


async def test_a_flood_of_alike_lines_is_folded_in_the_output_pane(sshd: Sshd,
                                                                   tmp_path: Path) -> None:
    chapter = tmp_path / "flood.md"
    chapter.write_text('+++\ntitle = "Flood"\nhosts = ["a"]\n+++\n\n## Flood\n\n'
                       '```sh {on="a" id="flood"}\n'
                       'for i in $(seq 1 900); do echo "request $i failed" >&2; done\n```\n')
    engine = make_engine(chapter, {"a": sshd.host("a")}, tmp_path / "run")
    app = app_for(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await settle(pilot)
        assert app.infos["flood"].status == StepStatus.PASSED
        shown = [line for line in log_text(app).splitlines() if line.startswith("a ")]
        assert shown[0] == "a ! request 1 failed"
        assert shown[1].startswith("a ! … 899 more like this over") and len(shown) == 2
        await pilot.press("q")


async def test_resuming_on_a_lab_that_lost_a_result_asks_and_can_start_over(
        sshd: Sshd, tmp_path: Path) -> None:
    from labguide.tui.screens.resume import ResumeScreen

    work = tmp_path / "lab"
    work.mkdir()
    chapter = tmp_path / "resume.md"
    chapter.write_text(
        '+++\ntitle = "Resume"\nhosts = ["a"]\n+++\n\n## Make\n\n'
        f'```sh {{on="a" id="make"}}\ntouch {work}/made\n```\n\n'
        f'```sh {{on="a" check id="made" message="the file is there"}}\ntest -e {work}/made\n'
        '```\n\n## Next\n\n```sh {on="a" id="next"}\necho next\n```\n')
    engine = make_engine(chapter, {"a": sshd.host("a")}, tmp_path / "run")
    assert engine.state is not None
    for sid in ("make", "made"):
        engine.state.record(sid, StepRecord(status=StepStatus.PASSED, message="done before"))
    app = app_for(engine)  # the saved results say: resume at `next`; the file is not there
    async with app.run_test(size=(100, 30)) as pilot:
        await until_screen(pilot, ResumeScreen)
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "your lab does not look like 'made' passed" in text
        await pilot.press("o")
        await settle(pilot)
        assert app.current == "make" and status(app, "made") == StepStatus.PENDING
        assert engine.state.status("make") == StepStatus.PENDING
        await pilot.press("q")



async def test_a_command_that_asks_gets_its_answer_from_the_answer_line(
        sshd: Sshd, tmp_path: Path) -> None:
    from labguide.tui.widgets.answer import AnswerLine

    chapter = tmp_path / "ask.md"
    chapter.write_text('+++\ntitle = "Ask"\nhosts = ["a"]\n+++\n\n## Ask\n\n'
                       '```sh {on="a" id="ask"}\nread -s -p "Password: " pw; echo\n'
                       'read -p "Name: " n; echo "hello $n, ${#pw} characters"\n```\n')
    engine = make_engine(chapter, {"a": sshd.host("a")}, tmp_path / "run")
    app = app_for(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        answer = app.query_one(AnswerLine)
        assert not answer.display
        await pilot.press("r")
        for _ in range(400):
            if answer.asking:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        assert answer.asking and answer.has_focus and answer.password, app.infos["ask"]
        assert answer.display
        assert "a asks: Password:" in str(answer.border_title)
        await pilot.press(*"q-sekrit9")  # 'q' is typed, not quit
        await pilot.press("enter")
        for _ in range(400):
            if answer.asking and not answer.password:
                break
            await pilot.pause(0.02)
        assert "a asks: Name:" in str(answer.border_title)
        await pilot.press(*"Ada", "enter")
        await settle(pilot)
        assert app.infos["ask"].status == StepStatus.PASSED
        assert "a │ hello Ada, 9 characters" in log_text(app)
        assert "q-sekrit9" not in log_text(app) and not answer.display
        await pilot.press("q")
    for path in (tmp_path / "run").rglob("*"):
        assert b"q-sekrit9" not in path.read_bytes()
