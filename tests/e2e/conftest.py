"""A fresh sandbox lab for the chapter-level tests: down (if up), up, and down at the end.

These tests change the lab (they run the whole chapter), so they own its life cycle.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from labguide.chapter import find_chapter, load_chapter
from labguide.inventory import load_inventory
from labguide.plan import Plan, bind
from labguide.sandbox.paths import LabPaths
from tests.conftest import lab_up, sandbox_missing


@pytest.fixture(scope="package")
def fresh_lab() -> Iterator[LabPaths]:
    why = sandbox_missing()
    if why:
        pytest.skip(why)
    from labguide.sandbox import lab

    paths = LabPaths.default()
    if os.environ.get("LABGUIDE_E2E_REUSE_LAB") == "1" and lab.is_up(paths):
        yield paths  # the lab as it is (e.g. finished), left up: for test_drill.py alone
        return
    lab_up(fresh=True)  # the session takes it down at its end (tests/conftest.py)
    yield paths


@pytest.fixture(scope="package")
def lab_plan(fresh_lab: LabPaths) -> Plan:
    return bind(load_chapter(find_chapter("l4lb-ha")), load_inventory(fresh_lab.inventory), {})
