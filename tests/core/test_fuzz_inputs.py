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
         "disruptive", "reboot", "load", "url", "background", "rate", "delay", "zz", "file"]
VALUES = ['"a"', '"a, b"', "10", '"0644"', '"/etc/x"', "soon", '"("', '"${X}"', '"one"', "",
          '"b,,a"', "1e400", "-1", '"http://${X}/"']
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
                     "qm frobnicate", "$${x}", "${a%% *}", "x" * 3, "\x00", "é"]),
    st.booleans(), st.booleans())
block = st.one_of(
    fence,
    st.sampled_from(["## Section\n", "### Sub\n", "# Title\n", "plain prose\n", "\n",
                     "~~~sh {on=\"a\"}\ntrue\n~~~\n", "```\n", "    indented code\n"]),
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
              '"k"', "-1", "1.5", '""', '"a\\nb"', '{ value = "ab", secret = true }',
              '"\\u2028"']
inv_line = st.builds(lambda k, v: f"{k} = {v}\n", st.sampled_from(INV_KEYS),
                     st.sampled_from(INV_VALUES))
inv_header = st.sampled_from(["[hosts.a]\n", "[hosts.b]\n", "[hosts.\"x y\"]\n", "[vars]\n",
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
