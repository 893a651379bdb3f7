"""Load steps are judged against the chapter's expectation and shown beside the book's
figure, with what happened while the load ran (issue 14, items 4 and 6)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.engine import Engine
from labguide.errors import LabguideError
from labguide.events import Output, StepStatus
from labguide.inventory import Inventory
from labguide.plan import bind
from labguide.steps.load_judge import BookFigure, Limit, judge_load
from tests.conftest import Sshd, _free_port

FRONT = '+++\ntitle = "Load"\nhosts = ["a"]\n[vars]\nURL = "http://127.0.0.1:1/hostname"\n+++\n'


def test_the_verdict_puts_the_readers_numbers_beside_the_books() -> None:
    detail = {"http_reqs": 28999, "http_req_failed": 900, "rate": 966.6}
    v = judge_load(detail, limit=Limit(ratio=0.05), book=BookFigure(483, 29346),
                   threshold=None, where="k6 on client", timeline=None)
    # within what the chapter accepts, but more than the book lost: a warning, not a failure
    assert v.status == StepStatus.WARNED
    assert v.message.startswith("you: 900 of 28,999 failed (3.10%) — the book: 483 of 29,346 "
                                "(1.65%)")
    assert v.message.endswith(": more than the book lost, within what it accepts (at most 5% "
                              "failed)")
    fewer = {"http_reqs": 29000, "http_req_failed": 290}
    v = judge_load(fewer, limit=Limit(ratio=0.05), book=BookFigure(483, 29346),
                   threshold=None, where="k6 on client", timeline=None)
    assert v.status == StepStatus.PASSED and "more than" not in v.message
    v = judge_load(detail, limit=Limit(count=0), book=BookFigure(0, 29984), threshold=None,
                   where="k6 on client", timeline=None)
    assert v.status == StepStatus.FAILED and "more than the chapter expects (no failed " \
                                                "request)" in v.message
    assert v.detail is not None and v.detail["book"] == "0 of 29,984 (0.00%)"
    assert str(BookFigure()) == "no failures reported"


def test_warn_failed_sets_the_hope_apart_from_the_limit() -> None:
    """warn_failed replaces the book's share as the line past which a step warns; the limit
    (max_failed) still decides failure, and the book's own figure of none never warns."""
    detail = {"http_reqs": 30000, "http_req_failed": 3}
    kw = {"threshold": None, "where": "k6 on client", "timeline": None}
    v = judge_load(detail, limit=Limit(ratio=0.002), book=None, warn=Limit(count=0), **kw)
    assert v.status == StepStatus.WARNED
    assert "more than the chapter hopes for (no failed request), within what it accepts " \
           "(at most 0.2% failed)" in v.message
    v = judge_load(detail, limit=Limit(ratio=0.002), book=BookFigure(), **kw)
    assert v.status == StepStatus.PASSED
    v = judge_load({"http_reqs": 30000, "http_req_failed": 0}, limit=Limit(ratio=0.002),
                   book=None, warn=Limit(count=0), **kw)
    assert v.status == StepStatus.PASSED
    v = judge_load({"http_reqs": 30000, "http_req_failed": 61}, limit=Limit(ratio=0.002),
                   book=None, warn=Limit(count=0), **kw)
    assert v.status == StepStatus.FAILED


@pytest.mark.parametrize("attr, words", [
    ('max_failed="lots"', "max_failed='lots'"),
    ('max_failed="150%"', "max_failed='150%'"),
    ('warn_failed="some"', "warn_failed='some': write a count (warn_failed=0)"),
    ('book="483 of 29346"', "book='483 of 29346'"),
    ('book="500/400"', "book='500/400'"),
])
def test_bad_expectations_are_located(attr: str, words: str) -> None:
    text = FRONT + f'\n```sh {{on="a" load url="${{URL}}" {attr}}}\nk6 run x.js\n```\n'
    with pytest.raises(LabguideError) as err:
        parse_chapter(text, Path("load.md"))
    assert err.value.location is not None and err.value.location.line == 8
    assert words in str(err.value)


async def test_a_load_that_loses_requests_against_an_expectation_of_none_fails(
        sshd: Sshd, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/hostname"  # nobody listens: every request fails
    text = FRONT + ('\n## Under load\n\n```sh {on="a" load background id="load" url="${URL}" '
                    'rate=40 duration=2s max_failed=0 book="0/29984"}\nk6 run x.js\n```\n\n'
                    '```sh {on="a" delay=0.5 id="break-it"}\necho breaking\n```\n')
    chapter = parse_chapter(text, tmp_path / "load.md")
    plan = bind(chapter, Inventory(hosts={"a": sshd.host("a")}, path=tmp_path / "inv.toml"),
                {"URL": url})
    engine = Engine(plan)
    lines: list[str] = []
    engine.bus.subscribe(lambda e: lines.append(e.line) if isinstance(e, Output) else None)
    try:
        assert await asyncio.wait_for(engine.run(), 60) == StepStatus.FAILED
    finally:
        await engine.close()
    rec = engine.results["load"]
    assert rec.status == StepStatus.FAILED
    assert "— the book: 0 of 29,984 (0.00%)" in rec.message
    assert "more than the chapter expects (no failed request)" in rec.message
    assert "labguide's prober from this machine, not a, which has no k6" in rec.message
    assert rec.message.startswith(f"you: {rec.detail['http_req_failed']:,} of ")
    assert "during the load:" in lines
    assert any(re.fullmatch(r"[+-]\d+\.\d s  step break-it ran \(after its delay\)",
                            line.strip()) for line in lines)


def test_the_expectation_and_the_book_figure_speak_the_readers_language() -> None:
    from labguide import i18n

    with i18n.speaking("ja"):
        assert str(Limit(count=0)) == "失敗したリクエストなし"
        assert str(Limit(ratio=0.05)) == "失敗 5% まで"
        assert str(BookFigure(3, 1000)) == "1,000 件中 3 件（0.30%）"
    assert str(Limit(count=2)) == "at most 2 failed"
