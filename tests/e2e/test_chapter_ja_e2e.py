"""The whole l4lb-ha chapter in Japanese (`--lang ja`), as a reader runs it: `labguide run
--plain --yes` as a process, on a freshly rebuilt sandbox lab.

Runs after test_chapter_e2e.py (file order) and leaves the lab finished, as that module
does, for test_drill.py. The chapter takes about two minutes here; the rebuild seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labguide import i18n
from labguide.chapter import find_chapter, load_chapter
from labguide.events import StepStatus
from labguide.inventory import load_inventory
from labguide.plan import bind
from labguide.sandbox.paths import LabPaths
from labguide.state import RunState, StepRecord, run_dir
from tests.conftest import lab_up

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
LABGUIDE = [sys.executable, "-m", "labguide"]


def pattern(template: str, **groups: str) -> str:
    """A translated template as a regular expression, its {fields} the patterns given."""
    parts = re.split(r"\{(\w+)\}", template)
    return "".join(re.escape(p) if n % 2 == 0 else groups[p] for n, p in enumerate(parts))


def save_a_finished_run(state_dir: Path, inventory: Path, lab_id: str | None,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Results of a whole run, as made on the lab `lab_id`."""
    monkeypatch.setenv("LABGUIDE_STATE_DIR", str(state_dir))
    chapter = load_chapter(find_chapter("l4lb-ha"))
    state = RunState(run_dir(chapter.id, inventory) / "state.json", chapter.id, lab_id)
    for step in chapter.steps:
        state.steps[step.id] = StepRecord(StepStatus.PASSED, message="done before")
    state.save()


def test_the_whole_chapter_runs_in_japanese(fresh_lab: LabPaths, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("LABGUIDE_E2E_REUSE_LAB") == "1":
        pytest.skip("needs a fresh lab (LABGUIDE_E2E_REUSE_LAB=1 keeps the lab as it is)")
    old_lab = load_inventory(LabPaths.default().inventory).lab_id
    inventory = lab_up(fresh=True)  # the English run left it finished: build it again
    # results of a whole run saved on the lab before: they must not hold on the new one
    assert load_inventory(inventory).lab_id not in (None, old_lab)
    save_a_finished_run(tmp_path / "state", inventory, old_lab, monkeypatch)
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(LC_ALL="C.UTF-8", PYTHONIOENCODING="utf-8",  # --lang, not the locale, decides
               LABGUIDE_STATE_DIR=str(tmp_path / "state"))
    # no terminal: l4lb-2's new key is accepted by the flag, ssh's question on client by an
    # --answer rule (the documented ways for automation)
    res = subprocess.run([*LABGUIDE, "run", "l4lb-ha", "--lang", "ja", "--plain", "--yes",
                          "--inventory", str(inventory), "--accept-new-host-keys",
                          "--answer", "continue connecting=yes"], capture_output=True, env=env,
                         timeout=900, stdin=subprocess.DEVNULL)
    out = res.stdout.decode("utf-8")  # strict: every byte is UTF-8
    with i18n.speaking("ja"):  # the interface speaks Japanese too: its words, from the catalog
        other_lab = i18n.gettext(
            "the saved results were made on another lab ({other}), not on this one ({lab}): "
            "starting with no results (kept as {kept})").split("{lab}")[0].format(other=old_lab)
        summary = pattern(i18n.gettext("{passed} passed, {failed} failed — run {status}"),
                          passed=r"(\d+)", failed="0", status=re.escape(StepStatus.PASSED.word))
        warned_word = StepStatus.WARNED.word
    assert other_lab in res.stderr.decode("utf-8"), res.stderr[-2000:]
    (tmp_path / "out.txt").write_text(out, encoding="utf-8")
    assert res.returncode == 0, out[-3000:] + res.stderr.decode("utf-8", "replace")
    plan = bind(load_chapter(find_chapter("l4lb-ha", "ja")), load_inventory(inventory), {})
    passed = re.search(f"^{summary}$", out, re.M)
    # a load that lost a few requests more than the book warns (the chapter's warn tier): it
    # is counted apart from the passed steps, on the line after the counts
    warned = re.search(rf"^\((\d+) {re.escape(warned_word)}", out, re.M)
    assert passed and int(passed.group(1)) + int(warned.group(1) if warned else 0) == len(
        plan.steps), out[-500:]
    # the reader saw the Japanese chapter: each section's title, each check's message
    for sec in plan.chapter.sections:
        if sec.steps:
            assert f"== {sec.title}\n" in out, sec.title
    records = [json.loads(line) for line in
               next((tmp_path / "state").rglob("transcript.jsonl")).read_text("utf-8").splitlines()]
    logged = {r["step"]: r["message"] for r in records if r["event"] == "step_finished"}
    for bound in plan.steps:
        if bound.message and bound.step.kind in ("check", "wait"):
            assert f"PASS {bound.id} (" in out and bound.message in out, bound.id
            assert logged[bound.id].startswith(bound.message), bound.id  # the transcript too
    assert "l4lb-1がVIP 198.18.16.140 を持っています" in out
