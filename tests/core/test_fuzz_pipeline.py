"""Generated non-ASCII text (Japanese, the ideographic space U+3000, combining marks, emoji
and ZWJ sequences, right-to-left text and direction marks, any letters of any script) past
the parser: a step's message, hint, title and a variable's value go through binding, shell
quoting, the transcript, state.json, the --check report in JSON, JUnit and the table, in
English and in Japanese, and come back as written.

test_utf8_pipeline.py runs one such chapter over a real sshd; this one draws the text."""

from __future__ import annotations

import json
import shlex
import tempfile
import xml.etree.ElementTree as ET
from io import StringIO
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labguide import i18n
from labguide.chapter import parse_chapter
from labguide.check import CheckReport, CheckResult
from labguide.events import StepStatus
from labguide.plan import bind
from labguide.report import write_report
from labguide.state import RunState, StepRecord, Transcript
from tests.core.test_fuzz_inputs import NON_ASCII, reader_text

#: Values as a reader may set them (`--set X=…`): any printable text, quotes, `$`, backslash
#: and backticks included (shell quoting must keep them literal), but no control characters
#: (values refuse them unless the chapter declares the variable multi-line).
value_text = st.lists(st.one_of(
    st.text(st.characters(whitelist_categories=("L", "M", "N", "S", "P", "Zs")),
            min_size=1, max_size=6),
    st.sampled_from(NON_ASCII)), min_size=1, max_size=4).map("".join)

CHAPTER = """+++
id = "fz"
title = "ファズ"
hosts = ["a"]
[vars]
X = "1"
+++

## 節

```sh {{on="a" check id="c" message="{message} ${{X}}" hint="{hint}" title="{title}"}}
printf '%s\\n' ${{X}}
```
"""


def report_for(message: str, hint: str, title: str, value: str) -> tuple[CheckReport, str]:
    chapter = parse_chapter(CHAPTER.format(message=message, hint=hint, title=title),
                            Path("fz.md"))
    bound = bind(chapter, None, {"X": value}).bound("c")
    said = bound.message
    result = CheckResult(step=bound, status=StepStatus.FAILED, duration=0.1, message=said,
                         hosts={"a": {"exit_status": 1, "tail": [value, said]}},
                         expected=said)
    return CheckReport(chapter="fz", results=[result], duration=0.2,
                       sections={"section": "節"}), said


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=reader_text, hint=reader_text, title=reader_text, value=value_text,
       lang=st.sampled_from(["en", "ja"]))
def test_drawn_text_survives_every_format(message: str, hint: str, title: str, value: str,
                                          lang: str) -> None:
    report, said = report_for(message, hint, title, value)
    bound = report.results[0].step
    assert said == f"{message} {value}"
    # shell quoting: the value is one word, as written
    assert shlex.split(bound.script.removeprefix("printf '%s\\n' ")) == [value]
    with i18n.speaking(lang):
        out = StringIO()
        write_report("json", out, report)
        data = json.loads(out.getvalue())
        assert out.getvalue().isascii()  # ASCII JSON: the same text once read
        (check,) = data["checks"]
        assert check["message"] == said and hint in json.dumps(data, ensure_ascii=False)
        out = StringIO()
        write_report("junit", out, report)
        root = ET.fromstring(out.getvalue())
        failure = root.find(".//failure")
        assert failure is not None and said in (failure.get("message") or "")
        out = StringIO()
        write_report("table", out, report)
        assert said in out.getvalue() and hint in out.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=reader_text, value=value_text)
def test_drawn_text_survives_the_transcript_and_state(message: str, value: str) -> None:
    text = f"{message} {value}"
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        transcript = Transcript(folder / "transcript.jsonl")
        transcript.write({"step": "c", "host": "a", "line": text, "message": message})
        transcript.close()
        raw = (folder / "transcript.jsonl").read_bytes()
        # UTF-8 for people to read and grep: only JSON's own escapes (quote, backslash)
        assert json.dumps(text, ensure_ascii=False).encode("utf-8") in raw
        assert json.loads(raw.decode("utf-8"))["line"] == text
        state = RunState(folder / "state.json", "fz")
        state.record("c", StepRecord(StepStatus.FAILED, 0.1, 1.0, text,
                                     {"a": {"tail": [value]}}, {"value": value}))
        state.save()
        again = RunState.load(folder / "state.json", "fz")
        rec = again.steps["c"]
        assert (rec.message, rec.hosts["a"]["tail"], rec.detail["value"]) == \
            (text, [value], value)
        assert again.warning is None
