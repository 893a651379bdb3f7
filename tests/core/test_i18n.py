"""labguide's own words in Japanese: every text of the interface has a translation, reaches
the catalog (no reader-facing literal outside `_()`), and the compiled catalog is the `.po`;
the run's language follows `--lang`, else the locale, else English; click's messages and the
help pages speak it too, measured in cells."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from labguide import i18n
from tests.core.i18n_scan import ROOT, WRAPPERS, unwrapped

LABGUIDE = [sys.executable, "-m", "labguide"]
LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")
#: The modules whose reader-facing text must go through the catalog: all of labguide but
#: these (the sandbox lab's tooling and the PVE emulator, which plays Proxmox's own words;
#: inventory_text writes TOML).
NOT_TRANSLATED = ["labguide/sandbox", "labguide/inventory_text.py"]
TRANSLATED = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "labguide").rglob("*.py"))
              if not any(str(p.relative_to(ROOT)).startswith(n) for n in NOT_TRANSLATED)]


def tool() -> ModuleType:
    """scripts/i18n.py (extract, check, compile), loaded as a module."""
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def modules(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = ROOT / p
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def cli_env(**locale: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    return {**env, "PYTHONIOENCODING": "utf-8", **locale}


def labguide(*args: str, **locale: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LABGUIDE, *args], capture_output=True, text=True, timeout=60,
                          env=cli_env(**locale), stdin=subprocess.DEVNULL, encoding="utf-8")


# -- the catalog ---------------------------------------------------------------------------


def test_every_text_of_the_interface_has_a_japanese_translation() -> None:
    """Extracted now from the code, the command line's help and the installed click: a new
    text without its msgstr, a fuzzy one or lost placeholders fail here, each named."""
    t = tool()
    template = t.template()
    from babel.messages.pofile import read_po

    po = ROOT / "labguide/locale/ja/LC_MESSAGES/labguide.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    missing = [f"not in {po.name}: {m.id!r} ({m.locations[0][0]})" for m in template
               if m.id and catalog.get(m.id) is None]
    assert missing + t.problems(catalog) == []
    assert len(template) > 400  # the extraction found the texts (help, click, the code)


def test_the_compiled_catalog_is_the_po(tmp_path: Path) -> None:
    """The .mo labguide reads is the .po compiled (setup.py's build step; an editable install
    compiles in place: `pip install -e .` after editing the .po)."""
    fresh = tool().compile_catalogs(tmp_path)
    assert fresh, "no catalog compiled"
    for mo in fresh:
        installed = i18n.LOCALE_DIR / mo.relative_to(tmp_path)
        assert installed.is_file() and installed.read_bytes() == mo.read_bytes(), (
            f"{installed} is stale: run `pip install -e .` (or scripts/i18n.py compile)")


def test_reader_facing_text_goes_through_the_catalog() -> None:
    found = [line for path in modules(TRANSLATED) for line in unwrapped(path)]
    assert found == []


def test_every_marked_text_is_in_the_catalog() -> None:
    """A literal inside `_()` that babel cannot see (inside an f-string, nested in another
    marked call) would never be translated: each marked literal must be a msgid."""
    from babel.messages.pofile import read_po

    with (ROOT / "labguide/locale/ja/LC_MESSAGES/labguide.po").open("rb") as f:
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    lost = []
    for path in modules(["labguide"]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in WRAPPERS and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str) and node.args[0].value not in ids):
                lost.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.args[0].value!r}")
    assert lost == []


def test_the_scan_finds_text_outside_the_catalog(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'from labguide.i18n import gettext as _\n'
        'self.notify("a step is running")\n'                    # flagged
        'self.notify(_("a step is running"))\n'                 # fine
        'self.notify(_("waiting for {s}").format(s=steps))\n'   # fine
        'self.notify(f"waiting for {steps}")\n'                 # flagged: an f-string
        'x = _(f"waiting for {steps}")\n'                       # flagged: never a msgid
        'Static(Text(f"{host}", style="bold"))\n'               # fine: no words
        'Binding("y", "answer(True)", "Trust it")\n'            # flagged: the label only
        'pane.border_title = "Output"\n'                        # flagged
        'out.write("GET http://x 200 ms\\n")\n'                 # fine: names and units
        'out.append(f\'<rect class="gap" x="{x}"/><title>{t}</title>\')\n'  # fine: tags
        'out.append(f"<h2>Load</h2>{chart}")\n'               # flagged: words in tags
        'self.sub_title = f"labguide run {c}"  # i18n: not text\n')
    found = sorted(line.split(": ", 1)[1] for line in unwrapped(sample))
    assert found == sorted(["notify: 'a step is running'", "notify: 'waiting for {}'",
                            "Binding: 'Trust it'", ".border_title =: 'Output'",
                            "append: '<h2>Load</h2>{}'",
                            "_() of an f-string (never in the catalog)"]), found


# -- the run's language --------------------------------------------------------------------


@pytest.mark.parametrize(("option", "env", "want"), [
    (None, {}, "en"), (None, {"LANG": "ja_JP.UTF-8"}, "ja"), ("ja", {"LANG": "C"}, "ja"),
    ("en", {"LANG": "ja_JP.UTF-8"}, "en"), ("ja_JP.UTF-8", {}, "ja"), ("JA", {}, "ja"),
    (None, {"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, "en"), ("de", {}, "en"),  # no catalog
    (None, {"LANG": "../../etc"}, "en")])
def test_one_language_for_the_run(option: str | None, env: dict[str, str], want: str) -> None:
    with i18n.speaking(i18n.chosen(option, env)) as lang:
        assert lang == want == i18n.language()
        assert (i18n.gettext("passed") == "成功") == (want == "ja")
    assert i18n.language() == "en"  # speaking() gives the language back


def test_japanese_words_and_english_fallback() -> None:
    with i18n.speaking("ja"):
        assert i18n.gettext("exit status {status}").format(status=3) == "終了ステータス 3"
        assert i18n.gettext("no such text anywhere") == "no such text anywhere"
        assert i18n.ngettext("wrote {path} ({n} byte)", "wrote {path} ({n} bytes)", 2)
    assert i18n.gettext("exit status {status}") == "exit status {status}"
    assert "ja" in i18n.languages()


def test_the_command_line_speaks_the_locale_and_lang() -> None:
    ja = labguide("run", "--help", LANG="ja_JP.UTF-8")
    assert ja.returncode == 0 and "使い方:" in ja.stdout and "オプション:" in ja.stdout
    assert "このステップから（節なら" in ja.stdout and "Usage:" not in ja.stdout
    en = labguide("run", "--help")
    assert "Usage:" in en.stdout and "Start at this step (or at" in en.stdout
    flag = labguide("run", "--lang", "ja", "--help", LANG="C.UTF-8")
    assert "使い方:" in flag.stdout


def test_clicks_own_errors_in_japanese() -> None:
    missing = labguide("run", LANG="ja_JP.UTF-8")
    assert missing.returncode == 2
    assert "エラー: 次の引数がありません: 'CHAPTER'." in missing.stderr, missing.stderr
    assert "'labguide run --help' でヘルプを表示できます。" in missing.stderr
    bad = labguide("run", "x", "--format", "xml", "--lang=ja")
    assert "--format" in bad.stderr and "いずれでもありません" in bad.stderr, bad.stderr


def test_help_pages_wrap_by_cells() -> None:
    """A Japanese help line is at most as wide as an English one in terminal cells."""
    from labguide.cells import cell_len

    env = {"COLUMNS": "80"}
    ja = labguide("run", "--help", LANG="ja_JP.UTF-8", **env)
    widest = max(cell_len(line) for line in ja.stdout.splitlines())
    assert widest <= 80, [ln for ln in ja.stdout.splitlines() if cell_len(ln) > 80]


def test_fill_takes_missing_translations_from_another_catalog(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a merge of the .po: one side kept, the other side's translations filled in."""
    from babel.messages.pofile import read_po, write_po

    i18n_tool = tool()
    real = ROOT / "labguide" / "locale" / "ja" / "LC_MESSAGES" / "labguide.po"
    ours = tmp_path / "ja" / "LC_MESSAGES" / "labguide.po"
    ours.parent.mkdir(parents=True)
    with real.open("rb") as f:
        catalog = read_po(f)
    catalog.get("exit status {status}").string = ""  # the side that lacks it
    with ours.open("wb") as f:
        write_po(f, catalog, width=100)
    monkeypatch.setattr(i18n_tool, "po_files", lambda: [ours])
    assert i18n_tool.fill(real) == 1
    with ours.open("rb") as f:
        assert read_po(f).get("exit status {status}").string == "終了ステータス {status}"
    assert i18n_tool.fill(real) == 0  # nothing left to fill
