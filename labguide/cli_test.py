"""`labguide test CHAPTER` (click): the chapter's sandbox lab up, the chapter run and checked
(labguide/authortest.py), the lab down, JUnit written, the exit code for CI."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import click

from labguide import completion as complete
from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _


@click.command("test")
@click.argument("chapter", shell_complete=complete.chapters)
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, metavar="FILE",
              help="Where to write the JUnit report (default: labguide-test-ID.xml here).")
@click.option("--strict", is_flag=True, help="The check's warnings fail too.")
@click.option("--keep-lab", is_flag=True, help="Leave the lab up at the end, to look around.")
@click.option("--lang", metavar="LANG", shell_complete=complete.languages,
              help="Run this translation of the chapter, and speak its language (default: "
                   "from the locale, else English).  [env var: LC_ALL, LC_MESSAGES, LANG]")
def test(chapter: str, junit_path: Path | None, strict: bool, keep_lab: bool,
         lang: str | None) -> None:
    """Test a chapter as an author (root; the sandbox lab must be down): bring up its lab
    (CHAPTER.lab.toml), run the whole chapter in plain mode answering host-key questions as
    a careful reader does, run --check on the finished lab, take the lab down, write JUnit.

    Exit code: 0 the run and the check passed, 1 either failed, 2 the lab could not be made.
    """
    from labguide.authortest import ConsoleReader, junit, run_and_check
    from labguide.chapter import find_chapter, load_chapter
    from labguide.events import StepStatus
    from labguide.inventory import load_inventory
    from labguide.plan import bind
    from labguide.sandbox import lab as lab_mod
    from labguide.sandbox import progress
    from labguide.sandbox.console import guest_fingerprint
    from labguide.sandbox.labfile import lab_file_of, load_lab
    from labguide.sandbox.machines import NspawnMachines
    from labguide.sandbox.network import bridge_is_ours
    from labguide.sandbox.paths import LabPaths
    from labguide.sandbox.topology import BRIDGE

    ch = load_chapter(find_chapter(chapter, lang.lower()) if lang else find_chapter(chapter))
    spec = load_lab(lab_file_of(chapter))
    paths = LabPaths.default()
    if NspawnMachines(paths).recorded_vmids() or paths.inventory.exists():
        raise LabguideError(_("the sandbox lab is up: `labguide test` starts from a fresh "
                              "lab and takes it down at the end; `labguide lab down` first"),
                            Location(file=paths.inventory))
    if bridge_is_ours() is not None:  # a lab of another root (LABGUIDE_LAB_ROOT) is up
        raise LabguideError(_("the sandbox lab is up: its bridge {bridge} exists (a lab of "
                              "another root?); `labguide lab down` there first").format(
                                  bridge=BRIDGE), Location(host="localhost", key=BRIDGE))
    t0 = time.monotonic()
    click.echo(_("labguide test {chapter}: building the sandbox lab {lab} ({path})").format(
        chapter=ch.id, lab=spec.id, path=spec.path))
    with progress.for_stream(sys.stdout) as rep:
        inventory = lab_mod.up(paths, say=rep, lab=spec)
    code = 1
    try:
        plan = bind(ch, load_inventory(inventory), {})
        reader = ConsoleReader(lambda address: guest_fingerprint(paths, address))
        status, finished, report = asyncio.run(run_and_check(plan, reader, sys.stdout,
                                                             strict=strict))
        code = 0 if status == StepStatus.PASSED and report.exit_code == 0 else 1
        out = junit_path or Path(f"labguide-test-{ch.id}.xml")
        out.write_bytes(junit(ch, status, finished, time.monotonic() - t0, report))
        counts = ", ".join(_("{n} {status}").format(n=n, status=StepStatus(s).word)
                           for s, n in report.counts.items())
        click.echo("\n" + _("run {status}; check: {counts}; JUnit: {path}").format(
            status=status.word, counts=counts or "-", path=out))
    finally:
        if not keep_lab:
            with progress.for_stream(sys.stdout) as rep:
                lab_mod.down(paths, say=rep)
    sys.exit(code)
