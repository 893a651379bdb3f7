"""A class of labs against the sandbox: N inventories, each under its own name, all pointing at
the one sandbox lab (read-only checks), in one `labguide check` command. The lab may be in any
state (its start state fails most checks): the table's shape is what is checked here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.sandbox
LABS = 6


def copies(source: Path, folder: Path, n: int) -> None:
    text = source.read_text()
    for key in ("identity_file", "known_hosts", "token_secret_file", "ca"):
        text = re.sub(rf'^({key}\s*=\s*")([^"/][^"]*)"',
                      lambda m: f'{m[1]}{source.parent / m[2]}"', text, flags=re.M)
    for i in range(1, n + 1):
        (folder / f"room-{i}.toml").write_text(text)


def not_passed(data: dict[str, Any]) -> list[str]:
    """Each lab's steps that did not pass, with their hosts' messages and last lines."""
    def steps(node: object) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if "id" in node and "results" in node:
                yield node
            else:
                for value in node.values():
                    yield from steps(value)
        elif isinstance(node, list):
            for value in node:
                yield from steps(value)

    return [f"{lab['lab']} {step['id']} {step['status']}: " + "; ".join(
        f"{host} {r['message']} {r['tail'][-3:]}" for host, r in step["results"].items())
        for lab in data["labs"] for step in steps(lab["check"]) if step["status"] != "passed"]


def test_class_of_sandbox_labs(sandbox_lab: Path, tmp_path: Path) -> None:
    copies(sandbox_lab, tmp_path, LABS)
    res = subprocess.run([sys.executable, "-m", "labguide", "check", "l4lb-ha", "-i",
                          str(tmp_path), "--format", "json"], capture_output=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL)
    data = json.loads(res.stdout)
    assert [lab["lab"] for lab in data["labs"]] == [f"room-{i}" for i in range(1, LABS + 1)]
    # the same lab six times: the same verdict and cells six times, and it was reached
    verdicts = {lab["verdict"] for lab in data["labs"]}
    assert len(verdicts) == 1 and verdicts <= {"pass", "fail"}, not_passed(data)
    cells = {json.dumps(lab["sections"], sort_keys=True) for lab in data["labs"]}
    assert len(cells) == 1
    assert res.returncode == (0 if verdicts == {"pass"} else 1)
    first = data["labs"][0]["sections"]
    assert list(first)[0] == "before-you-start" and first["before-you-start"]["status"] in (
        "passed", "failed", "warned")
    table = subprocess.run([sys.executable, "-m", "labguide", "check", "l4lb-ha", "-i",
                            str(tmp_path)], capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL).stdout
    rows = [ln for ln in table.splitlines() if ln.startswith("room-")]
    assert len(rows) == LABS and f"{LABS} labs: " in table
    # seven sections do not fit in 120 columns by title: numbered, with a legend
    assert table.splitlines()[0].split()[:3] == ["lab", "1", "2"]
    assert "sections: 1 Before you start; 2 Create l4lb-2 on node1;" in table
