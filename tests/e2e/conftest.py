"""A fresh sandbox lab for the chapter-level tests: down (if up), up, and down at the end.

These tests change the lab (they run the whole chapter), so they own its life cycle.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from labguide.chapter import find_chapter, load_chapter
from labguide.inventory import load_inventory
from labguide.plan import Plan, bind
from labguide.sandbox.paths import LabPaths


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "the sandbox needs root"
    for tool in ("systemd-nspawn", "debootstrap", "apt-ftparchive"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/host-packages.txt)"
    return None


@pytest.fixture(scope="package")
def fresh_lab() -> Iterator[LabPaths]:
    why = _missing()
    if why:
        pytest.skip(why)
    from labguide.sandbox import lab

    paths = LabPaths.default()
    say = lambda line: print(f"[lab] {line}")  # noqa: E731
    if os.environ.get("LABGUIDE_E2E_REUSE_LAB") == "1" and lab.is_up(paths):
        yield paths  # the lab as it is (e.g. finished), left up: for test_drill.py alone
        return
    if lab.is_up(paths):
        lab.down(paths, say=say)
    lab.up(paths, say=say)
    yield paths
    lab.down(paths, say=say)


@pytest.fixture(scope="package")
def lab_plan(fresh_lab: LabPaths) -> Plan:
    return bind(load_chapter(find_chapter("l4lb-ha")), load_inventory(fresh_lab.inventory), {})
