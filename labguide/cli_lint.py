"""`labguide lint CHAPTER`: the findings of labguide/lint.py, printed as text or JSON, and
the exit code for CI. Click only; what a finding is lives in lint.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from labguide import completion as complete
from labguide.i18n import gettext as _
from labguide.i18n import ngettext
from labguide.lint import ERROR, Finding, exit_code, lint_file


def chapter_files(name_or_path: str, lang: str | None) -> list[Path]:
    """The files to lint: a path is that file (--lang then only sets the findings'
    language: an author's own chapter may have no translation); a bundled name is each of
    its translations (or the one of --lang)."""
    from labguide.chapter import find_chapter
    from labguide.chapter_files import locale_lang, translations

    if name_or_path.endswith(".md") or "/" in name_or_path:
        return [Path(name_or_path)]
    path = find_chapter(name_or_path)
    if lang is not None:
        return [find_chapter(str(path), locale_lang({"LANG": lang}) or lang.lower())]
    return list(translations(path).values()) or [path]


def summary(findings: list[Finding], files: int) -> str:
    errors = sum(f.severity == ERROR for f in findings)
    warnings = len(findings) - errors
    return _("{files} linted: {errors}, {warnings}").format(
        files=ngettext("{n} file", "{n} files", files).format(n=files),
        errors=ngettext("{n} error", "{n} errors", errors).format(n=errors),
        warnings=ngettext("{n} warning", "{n} warnings", warnings).format(n=warnings))


@click.command("lint")
@click.argument("chapter", shell_complete=complete.chapters)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="How to print the findings.")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit code 1).")
@click.option("--lang", metavar="LANG", shell_complete=complete.languages,
              help="Only this translation of a bundled chapter (default: every one); the "
                   "findings are in this language too (default: from the locale).  "
                   "[env var: LC_ALL, LC_MESSAGES, LANG]")
def lint(chapter: str, fmt: str, strict: bool, lang: str | None) -> None:
    """Check a chapter as an author: every error that stops it from loading, each with
    its file and line, and warnings (a section without a check, a wait without a timeout,
    a disruptive step without a message, a variable or host never used).

    Exit code: 0 clean (or warnings only), 1 errors (or warnings with --strict)."""
    files = chapter_files(chapter, lang)
    findings = [f for path in files for f in lint_file(path)]
    if fmt == "json":
        json.dump({"files": [str(p) for p in files], "findings": [f.as_dict() for f in findings],
                   "errors": sum(f.severity == ERROR for f in findings),
                   "warnings": sum(f.severity != ERROR for f in findings),
                   "exit_code": exit_code(findings, strict=strict)},
                  sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for finding in findings:
            click.echo(str(finding))
        click.echo(summary(findings, len(files)))
    sys.exit(exit_code(findings, strict=strict))
