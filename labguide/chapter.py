"""Chapter files: Markdown with TOML front matter → the Chapter model (sections ▸ steps).

Parsing only: nothing here runs a command or opens a connection. Every error is a
LabguideError that names the file and line. The front matter is read by frontmatter.py,
each step block by stepblocks.py (its kind's module checks its attributes), and the checks
across steps are chaptercheck.py's. See docs/chapter-format.md for the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from labguide.chapter_files import (
    bundled_folder_files,
    one_per_chapter,
    pick_translation,
    split_name,
)
from labguide.chaptercheck import refs_of, validate
from labguide.errors import LabguideError, Location
from labguide.frontmatter import VAR_NAME, read_front_matter
from labguide.i18n import gettext as _
from labguide.model import Chapter, Section, Step, Watch
from labguide.stepblocks import Block, build_step

__all__ = ["VAR_NAME", "Chapter", "Section", "Step", "Watch", "bundled_chapters",
           "find_chapter", "load_chapter", "parse_chapter", "slug"]


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:40].strip("-") or "section"


def _err(msg: str, path: Path, line: int | None) -> LabguideError:
    return LabguideError(msg, Location(file=path, line=line))


def load_chapter(path: str | Path) -> Chapter:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabguideError(_("cannot read chapter: {error}").format(error=exc.strerror),
                            Location(file=path)) from None
    except UnicodeDecodeError:
        raise LabguideError(_("chapter is not UTF-8 text"), Location(file=path)) from None
    return parse_chapter(text, path)


def _fence_closed(lines: list[str], start: int, end: int, markup: str) -> bool:
    """markdown-it lets a fence run to the end of the file; we call that an error."""
    if end - 1 <= start or end - 1 >= len(lines):
        return False
    closing = lines[end - 1].strip()
    return closing.startswith(markup[0] * len(markup)) and set(closing) <= {markup[0]}


def _fence_info(info: str) -> tuple[str, str]:
    """A fence's language and its `{…}` attributes ('' when it has none)."""
    lang, _sep, rest = info.strip().partition(" ")
    if "{" in lang:
        lang, _sep, tail = lang.partition("{")
        rest = "{" + tail + (" " + rest if rest else "")
    return lang, rest.strip()


@dataclass
class _SectionBuilder:
    """The section being read: its heading and the steps found under it so far."""

    id: str
    title: str
    level: int
    line: int
    steps: list[Step] = field(default_factory=list)
    intro: str = ""


class _Parser:
    """Walks markdown-it's tokens: headings open sections, fenced blocks with attributes
    become steps, and the prose before each block is the step's explanation."""

    def __init__(self, text: str, path: Path, body_start: int, title: str,
                 errors: list[LabguideError] | None = None) -> None:
        self.errors = errors  # None: the first error is raised; else kept, the block skipped
        self.lines = text.split("\n")
        self.path = path
        self.body_start = body_start
        self.sections: list[Section] = []
        self.current = _SectionBuilder("intro", title, 1, body_start + 1)
        self.prose_from = body_start  # 0-based line where the next step's prose starts
        self.seen_ids: dict[str, int] = {}
        self.used_sections: set[str] = set()

    def prose_until(self, line0: int) -> str:
        chunk = [ln for ln in self.lines[self.prose_from:line0]
                 if not re.match(r"^#{1,6}\s", ln)]
        return "\n".join(chunk).strip("\n")

    def close_section(self, end0: int) -> None:
        cur = self.current
        intro = cur.intro if cur.steps else self.prose_until(end0)
        self.sections.append(Section(cur.id, cur.title, cur.level, cur.line, intro,
                                     tuple(cur.steps)))

    def heading(self, tok: Token, heading: str) -> None:
        assert tok.map is not None
        line0 = self.body_start + tok.map[0]
        self.close_section(line0)
        base = slug(heading)
        sid, n = base, 2
        while sid in self.used_sections:
            sid, n = f"{base}-{n}", n + 1
        self.used_sections.add(sid)
        self.current = _SectionBuilder(sid, heading, int(tok.tag[1]), line0 + 1)
        self.prose_from = line0 + 1

    def fence(self, tok: Token) -> None:
        assert tok.map is not None
        start0, end0 = self.body_start + tok.map[0], self.body_start + tok.map[1]
        if not _fence_closed(self.lines, start0, end0, tok.markup):
            raise _err(_("code block is not closed (missing closing fence)"), self.path,
                       start0 + 1)
        lang, attrs = _fence_info(tok.info)
        if not attrs:
            return  # a block without attributes is only shown
        cur = self.current
        try:
            step = build_step(Block(lang, attrs, tok.content, self.path, start0 + 1,
                                    self.prose_until(start0), cur.id, len(cur.steps)))
            if step.id in self.seen_ids:
                raise _err(_("step id {step!r} is used twice (first on line {line})").format(
                    step=step.id, line=self.seen_ids[step.id]), self.path, step.line)
        except LabguideError as exc:
            if self.errors is None:
                raise
            self.errors.append(exc)
            return
        self.seen_ids[step.id] = step.line
        if not cur.steps:
            cur.intro = step.prose
        cur.steps.append(step)
        self.prose_from = end0

    def walk(self, tokens: list[Token]) -> tuple[Section, ...]:
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.type == "heading_open" and tok.map:
                if tok.tag != "h1":
                    heading = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
                    self.heading(tok, heading)
                i += 3
                continue
            if tok.type == "fence" and tok.map:
                self.fence(tok)
            i += 1
        self.close_section(len(self.lines))
        return tuple(s for s in self.sections if s.steps or s.intro.strip())


def parse_chapter(text: str, path: Path, errors: list[LabguideError] | None = None) -> Chapter:
    """The chapter of `text`; its first error is raised. With `errors` (labguide lint), a
    bad step block or cross-step problem is added there and the rest is read on (an error
    of the front matter or of the Markdown's structure is still raised: nothing follows)."""
    fm = read_front_matter(text, path)
    body = "\n".join(text.split("\n")[fm.body_start:])
    parser = _Parser(text, path, fm.body_start, fm.title, errors)
    sections = parser.walk(MarkdownIt("commonmark").parse(body))
    chapter = Chapter(id=fm.id, title=fm.title, path=path, hosts=fm.hosts, vars=fm.vars,
                      watch=fm.watch, sections=sections, requires=fm.requires,
                      front_matter_lines=fm.body_start,
                      refs={s.id: refs_of(s) for sec in sections for s in sec.steps},
                      exists=fm.exists, multiline=fm.multiline)
    validate(chapter, text, errors)
    return chapter


def find_chapter(name_or_path: str, lang: str | None = None, *,
                 fallback: bool = False) -> Path:
    """A bundled chapter by name (`l4lb-ha`) or a path to a Markdown file; with `lang`, that
    chapter's file in that language (`NAME.LANG.md` beside it; see chapter_files)."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".md" or "/" in name_or_path:
        if not candidate.is_file():
            raise LabguideError(_("no chapter file {path}").format(path=name_or_path),
                                Location(file=candidate))
        found = candidate
    else:
        chapters = bundled_chapters()
        named = [p for p in chapters if split_name(p)[0] == name_or_path]
        if not named:
            names = ", ".join(split_name(p)[0] for p in chapters) or _("(none)")
            raise LabguideError(_("no chapter named {name!r}").format(name=name_or_path),
                                hint=_("bundled chapters: {names}").format(names=names))
        found = named[0]
    return pick_translation(found, lang, fallback=fallback) if lang else found


def bundled_chapters() -> list[Path]:
    """The bundled chapters, one file each: the English one (translations: chapter_files)."""
    return one_per_chapter(bundled_folder_files())
