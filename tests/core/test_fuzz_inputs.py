"""Generated malformed chapters and inventories: the only exception ever raised is a
LabguideError that names the file and a line, key or host (each error of a group too), and
the command line prints it as one `labguide: FILE:LINE: …` line, without a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labguide.chapter import Chapter, parse_chapter
from labguide.errors import ErrorGroup, LabguideError
from labguide.inventory import parse_inventory
from labguide.plan import bind

WORDS = ["on", "id", "check", "wait", "path", "mode", "sudo", "timeout", "needs", "expect",
         "disruptive", "reboot", "load", "url", "background", "rate", "delay", "zz", "file",
         "message", "hint", "title"]
#: Japanese and other non-ASCII text: kana, kanji, the ideographic space U+3000, half-width
#: katakana, combining marks, emoji (a ZWJ sequence, a flag), right-to-left scripts and the
#: marks that switch direction, a BOM.
NON_ASCII = ["日本語の文章です。", "ｶﾀｶﾅ", "全角\u3000空白", "か\u3099", "e\u0301", "😀",
             "👩\u200d💻", "🇯🇵", "שלום עולם", "مرحبا", "\u202eabc\u202c", "\u200f", "\ufeff"]
VALUES = ['"a"', '"a, b"', "10", '"0644"', '"/etc/x"', "soon", '"("', '"${X}"', '"one"', "",
          '"b,,a"', "1e400", "-1", '"http://${X}/"', *(f'"{s}"' for s in NON_ASCII),
          "日本語", '"${X} です"', '"/etc/日本語.conf"']
fence_attr = st.builds(
    lambda k, v, eq: f"{k}={v}" if eq else k,
    st.sampled_from(WORDS), st.sampled_from(VALUES), st.booleans())
fence = st.builds(
    lambda lang, attrs, body, close, braces: (
        f"```{lang} " + ("{" if braces else "") + " ".join(attrs) + ("}" if braces else "")
        + f"\n{body}\n" + ("```\n" if close else "")),
    st.sampled_from(["sh", "bash", "qm", "conf", "", "text", "javascript"]),
    st.lists(fence_attr, max_size=5),
    st.sampled_from(["true", "echo ${X}", "echo ${Y}", "qm start 501", "qm clone 999 ${X}",
                     "qm frobnicate", "$${x}", "${a%% *}", "x" * 3, "\x00", "é",
                     "echo 日本語 ${X}", "qm start ５０１", "echo '\u3000'", "printf %s 😀"]),
    st.booleans(), st.booleans())
block = st.one_of(
    fence,
    st.sampled_from(["## Section\n", "### Sub\n", "# Title\n", "plain prose\n", "\n",
                     "~~~sh {on=\"a\"}\ntrue\n~~~\n", "```\n", "    indented code\n",
                     "## 日本語の見出し\n", "## \u3000\n", "日本語の説明です。\n",
                     "שלום \u202e😀\n"]),
    st.sampled_from(NON_ASCII).map(lambda s: s + "\n"),
    st.text(max_size=40),
)
front = st.sampled_from([
    '+++\nid = "t"\ntitle = "T"\nhosts = ["a", "b"]\n[vars]\nX = "1"\n+++\n',
    '+++\ntitle = "T"\n+++\n',
    '+++\ntitle = \n+++\n',
    "+++\n",
    "",
    '+++\ntitle = "T"\n[watch]\nvips = ["${X}"]\ncandidates = ["q"]\n+++\n',
    '+++\ntitle = "T"\nhosts = "a"\n+++\n',
    '+++\ntitle = "T"\n[vars]\n"bad name" = "1"\n+++\n',
    '+++\nid = "t"\ntitle = "日本語の章\u3000テスト 😀"\nhosts = ["a", "b"]\n[vars]\n'
    'X = "値\u202eשלום👩\u200d💻"\n+++\n',
    '+++\ntitle = "T"\nhosts = ["ホスト"]\n+++\n',
    '+++\nid = "日本語"\ntitle = "T"\n+++\n',
    '+++\ntitle = "T"\n[vars]\n変数 = "1"\n+++\n',
    '+++\nid = "t"\ntitle = "T"\nhosts = ["a", "b"]\n[vars]\nX = "1\\n2"\n+++\n',
    '+++\nid = "t"\ntitle = "T"\nhosts = ["a", "b"]\n[vars.X]\ndefault = "1\\n2"\n'
    'multiline = true\n+++\n',
    '+++\ntitle = "T"\n[vars.X]\nmultiline = 1\n+++\n',
    '+++\ntitle = "T"\n[vars.X]\ndefault = "\\u0000"\nmultiline = true\n+++\n',
])


def assert_located(exc: LabguideError, file: str) -> None:
    """The error, and each error of a group, names the file and a line, key or host in it."""
    for err in exc.errors if isinstance(exc, ErrorGroup) else [exc]:
        where = err.location
        assert where is not None and str(where.file) == file, str(err)
        assert where.line is not None or where.key or where.host, str(err)
        assert str(err).startswith(file), str(err)


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(front=front, blocks=st.lists(block, max_size=8))
def test_chapter_parser_only_raises_located_errors(front: str, blocks: list[str]) -> None:
    text = front + "".join(blocks)
    try:
        chapter = parse_chapter(text, Path("fuzz.md"))
    except LabguideError as exc:
        assert_located(exc, "fuzz.md")
        return
    assert isinstance(chapter, Chapter)
    try:
        bind(chapter, None, {})
    except LabguideError as exc:
        assert_located(exc, "fuzz.md")


INV_KEYS = ["address", "user", "port", "identity_file", "known_hosts", "transport",
            "connect_timeout", "proxmox", "colour", "node", "token_id", "token_secret_env",
            "verify_tls", "ca"]
INV_VALUES = ['"198.18.16.10"', "22", "0", "70000", "true", '"ssh"', '"proxmox"', '"telnet"',
              '"a@b!c"', '"bad"', "[1]", "{ value = \"x\" }", "{ env = \"NOPE_NOT_SET\" }",
              '"k"', "-1", "1.5", '""', '"ユーザー"', '"198.18.16.10\u3000"', '"~/鍵/id"',
              '{ value = "秘密\u3000😀" }', *(f'"{s}"' for s in NON_ASCII),
              '"a\\nb"', '{ value = "ab", secret = true }', '"\\u2028"']
inv_line = st.builds(lambda k, v: f"{k} = {v}\n", st.sampled_from(INV_KEYS),
                     st.sampled_from(INV_VALUES))
inv_header = st.sampled_from(["[hosts.a]\n", "[hosts.b]\n", "[hosts.\"x y\"]\n", "[vars]\n",
                              "[hosts.\"ホスト\"]\n", "X = \"日本語\u3000の値\"\n",
                              "[defaults]\n", "[other]\n", "[hosts.a.proxmox]\n", "hosts = 1\n",
                              "[[hosts]]\n", "X = \"1\"\n", "= broken\n"])


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.one_of(inv_header, inv_line, st.text(max_size=20)), max_size=12))
def test_inventory_parser_only_raises_located_errors(parts: list[str]) -> None:
    try:
        parse_inventory("".join(parts), Path("inv.toml"), {})
    except LabguideError as exc:
        assert_located(exc, "inv.toml")


def run_cli(*args: str) -> tuple[int, str]:
    """labguide's own entry point, in this process: (exit code, what it printed)."""
    import contextlib
    import io

    from labguide.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, err.getvalue()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(front=front, blocks=st.lists(block, max_size=8))
def test_the_cli_prints_one_located_line_for_a_bad_chapter(front: str,
                                                          blocks: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        chapter = Path(d, "fuzz.md")
        chapter.write_text(front + "".join(blocks), errors="surrogateescape")
        code, err = run_cli("run", str(chapter), "--dry-run")  # an exception fails the test
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith(f"labguide: {chapter}:") and "Traceback" not in err, err


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.one_of(inv_header, inv_line, st.text(max_size=20)), max_size=12))
def test_the_cli_prints_one_located_line_for_a_bad_inventory(parts: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        inv = Path(d, "inv.toml")
        inv.write_text("".join(parts), errors="surrogateescape")
        code, err = run_cli("run", "l4lb-ha", "--dry-run", "--inventory", str(inv))
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith(f"labguide: {inv}") and "Traceback" not in err, err


#: Reader's text for the round trip below: any letters, marks, symbols and spaces of any
#: script (U+3000 and the direction marks included), but nothing the Markdown, attribute or
#: TOML syntax reads (quotes, backslash, backtick, #, *, _, <, [, {, $, line breaks).
reader_text = st.lists(st.one_of(
    st.text(st.characters(whitelist_categories=("L", "M", "N", "S", "Zs", "Cf"),
                          blacklist_characters="\"'\\`#*_<>[]{}$~=|&"), min_size=1, max_size=4),
    st.sampled_from(NON_ASCII)), min_size=1, max_size=4).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(heading=reader_text, prose=reader_text, message=reader_text, hint=reader_text,
       title=reader_text, chapter_title=reader_text, value=reader_text)
def test_non_ascii_text_comes_back_intact(heading: str, prose: str, message: str, hint: str,
                                          title: str, chapter_title: str, value: str) -> None:
    """Whatever the script, the parser and bind() give back the reader's text as written,
    and a variable's value lands in messages as is (and quoted, intact, in the script)."""
    import json
    import shlex

    text = (f'+++\nid = "t"\ntitle = {json.dumps("章 " + chapter_title, ensure_ascii=False)}\n'
            f'hosts = ["a"]\n[vars]\nX = "1"\n+++\n\n## 見出し {heading} 終\n\n説明 {prose} 終\n\n'
            f'```sh {{on="a" check id="c" message="{message} ${{X}}" hint="{hint}" '
            f'title="{title}"}}\nprintf %s ${{X}}\n```\n')
    chapter = parse_chapter(text, Path("rt.md"))
    step = chapter.steps[0]
    assert chapter.title == ("章 " + chapter_title).strip()
    assert chapter.sections[-1].title == f"見出し {heading} 終".strip()
    assert f"説明 {prose} 終" in step.prose
    assert (step.message, step.hint, step.title) == (f"{message} ${{X}}", hint, title)
    bound = bind(chapter, None, {"X": value}).bound("c")
    assert bound.message == f"{message} {value}"
    assert shlex.split(bound.script.split(" ", 2)[2]) == [value]
