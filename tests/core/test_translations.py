"""Every bundled translation (`NAME.LANG.md`) is the same chapter as its English file: the
same steps in the same order with the same ids, kinds, hosts, scripts, files and attributes,
the same sections by order and membership, the same front matter. Only the reader's text
differs: prose, headings, titles, `message=`, `hint=`, `title=`, and the front matter's
`title` and `requires` (a sentence shown by `labguide show`)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from labguide.chapter import Chapter, Step, bundled_chapters, load_chapter
from labguide.chapter_files import DEFAULT_LANG, translations

#: Step fields a translation may change: its text, and where that text puts the step
#: (line; section, whose id is the slug of the translated heading).
STEP_TEXT = {"prose", "title", "message", "hint", "section", "line", "file"}
#: Front matter a translation may change (besides the chapter's path and line counts).
CHAPTER_TEXT = {"title", "requires", "path", "front_matter_lines", "sections",
                "refs"}  # refs: the variables each step uses, in its body (compared) and texts


def compare_translation(english: Chapter, other: Chapter) -> list[str]:
    """Every difference that is not translatable text, each naming the step and field."""
    diffs: list[str] = []
    for f in dataclasses.fields(Chapter):
        if f.name not in CHAPTER_TEXT and getattr(english, f.name) != getattr(other, f.name):
            diffs.append(f"front matter {f.name}: {getattr(english, f.name)!r} in English, "
                         f"{getattr(other, f.name)!r} in the translation")
    ours = {s.id: s for s in english.steps}
    theirs = {s.id: s for s in other.steps}
    for sid in ours.keys() - theirs.keys():
        diffs.append(f"step {sid} (line {ours[sid].line} of the English) is missing from the "
                     "translation")
    for sid in theirs.keys() - ours.keys():
        diffs.append(f"step {sid} (line {theirs[sid].line} of the translation) is not in the "
                     "English chapter")
    common = [sid for sid in ours if sid in theirs]
    if common != [sid for sid in theirs if sid in ours]:
        diffs.append(f"steps are in another order: {common} in English, "
                     f"{[sid for sid in theirs if sid in ours]} in the translation")
    for sid in common:
        for f in dataclasses.fields(Step):
            if f.name in STEP_TEXT:
                continue
            a, b = getattr(ours[sid], f.name), getattr(theirs[sid], f.name)
            if a != b:
                diffs.append(f"step {sid} (translation line {theirs[sid].line}): {f.name} is "
                             f"{b!r}, the English has {a!r}")
    diffs += _compare_sections(english, other)
    return diffs


def _compare_sections(english: Chapter, other: Chapter) -> list[str]:
    def shape(ch: Chapter) -> list[tuple[int, tuple[str, ...]]]:
        return [(sec.level, tuple(s.id for s in sec.steps)) for sec in ch.sections]

    a, b = shape(english), shape(other)
    diffs = []
    if len(a) != len(b):
        diffs.append(f"{len(b)} sections in the translation, {len(a)} in English: "
                     f"{[s.title for s in other.sections]}")
    for n, (sa, sb, title) in enumerate(zip(a, b, (s.title for s in other.sections),
                                            strict=False), start=1):
        if sa != sb:
            diffs.append(f"section {n} ({title!r}): level and steps {sb} in the translation, "
                         f"{sa} in English")
    return diffs


def bundled_translations() -> list[Path]:
    return [path for en in bundled_chapters() for lang, path in translations(en).items()
            if lang != DEFAULT_LANG]


def test_the_bundled_chapters_have_japanese_translations() -> None:
    assert [p.name for p in bundled_translations()] == ["l4lb-ha.ja.md", "more-web.ja.md"]


@pytest.mark.parametrize("path", bundled_translations(), ids=lambda p: p.name)
def test_each_translation_is_the_same_chapter(path: Path) -> None:
    other = load_chapter(path)
    english = load_chapter(translations(path)[DEFAULT_LANG])
    diffs = compare_translation(english, other)
    assert not diffs, f"{path.name} differs from its English chapter:\n" + "\n".join(diffs)
    # and the reader's text is translated, not left in English
    assert other.title != english.title
    for a, b in zip(english.steps, other.steps, strict=True):
        assert (a.message == "") == (b.message == ""), a.id
        assert (a.hint == "") == (b.hint == ""), a.id
        assert a.message == "" or a.message != b.message, f"{a.id}: message not translated"
        if a.hint and not re.fullmatch(r"(sudo |qm )[^\s].*", a.hint):  # commands stay
            assert a.hint != b.hint, f"{a.id}: hint not translated"
    for sa, sb in zip(english.sections, other.sections, strict=True):
        assert sa.title != sb.title, f"section {sa.title!r} not translated"


@pytest.mark.parametrize("name", ["l4lb-ha.ja.md", "more-web.ja.md"])
def test_the_japanese_prose_is_japanese(name: str) -> None:
    ja = load_chapter(next(p for p in bundled_translations() if p.name == name))
    kana = re.compile(r"[\u3040-\u30ff]")
    for step in ja.steps:
        if step.prose.strip():
            assert kana.search(step.prose), f"{step.id}: prose has no Japanese"
        if step.message:
            assert kana.search(step.message), f"{step.id}: message is not Japanese"
    # one paragraph per line: a soft line break between Japanese words renders as a space
    text = ja.path.read_text(encoding="utf-8")
    wrapped = re.findall(r"[\u3040-\u30ff\u4e00-\u9fff、。]\n[\u3040-\u30ff\u4e00-\u9fff]", text)
    assert not wrapped, wrapped[:3]


def test_the_comparison_names_the_step_and_field(tmp_path: Path) -> None:
    """The comparison itself: a broken copy of the translation fails, naming each problem."""
    path = bundled_translations()[0]
    text = path.read_text(encoding="utf-8")
    english = load_chapter(translations(path)[DEFAULT_LANG])
    broken = (text.replace("sudo systemctl stop haproxy\n", "sudo systemctl kill haproxy\n", 1)
              .replace('id="vip-answers"', 'id="vip-answers" timeout=5', 1)
              .replace('{on="l4lb-2" id="start-keepalived-l4lb2"}',
                       '{on="l4lb-1" id="start-keepalived-l4lb2"}', 1))
    start = broken.index('```sh {on="l4lb-2" check transient id="vip-not-on-l4lb2"')
    end = broken.index("```\n", broken.index("\n", start)) + 4
    broken = broken[:start] + broken[end:]
    copy = tmp_path / path.name
    copy.write_text(broken, encoding="utf-8")
    diffs = "\n".join(compare_translation(english, load_chapter(copy)))
    assert "step stop-haproxy-l4lb1" in diffs and "body is 'sudo systemctl kill" in diffs
    assert "step vip-answers" in diffs and "timeout is 5.0" in diffs
    assert "step start-keepalived-l4lb2" in diffs and "hosts is ('l4lb-1',)" in diffs
    assert "step vip-not-on-l4lb2 (line" in diffs and "missing from the translation" in diffs
