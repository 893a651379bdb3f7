"""Chapter files: Markdown with TOML front matter → the Chapter model (sections ▸ steps).

Parsing only: nothing here runs a command or opens a connection. Every error is a
LabguideError that names the file and line. See docs/chapter-format.md for the format.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from markdown_it import MarkdownIt

from labguide.errors import LabguideError, Location
from labguide.shellsubst import VAR_REF
from labguide.variables import VAR_NAME, chapter_vars

Kind = Literal["run", "check", "wait", "file", "qm", "load"]
KINDS: tuple[str, ...] = ("run", "check", "wait", "file", "qm", "load")
SHELL_LANGS = ("sh", "bash", "shell")
STEP_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
FRONT_MATTER_FENCE = "+++"

#: Attributes each kind accepts (besides `on`, `id`, the kind word itself and the common ones).
COMMON_ATTRS = {"on", "id", "timeout", "needs", "title"}
KIND_ATTRS: dict[str, set[str]] = {
    "run": {"disruptive", "reboot", "delay", "hint"},
    "check": {"message", "hint", "transient", "expect", "path", "sudo"},
    "wait": {"message", "hint", "transient", "interval", "expect"},
    "file": {"path", "mode", "sudo", "disruptive", "hint"},
    "qm": {"disruptive", "wait_ssh", "hint"},
    "load": {"url", "rate", "duration", "vus", "background", "threshold", "hint"},
}
FLAGS = {"disruptive", "reboot", "sudo", "transient", "background"}
DEFAULT_TIMEOUT = {"run": 300.0, "check": 30.0, "wait": 60.0, "file": 60.0, "qm": 300.0,
                   "load": 120.0}


@dataclass(frozen=True)
class Step:
    """One action of the chapter, on one or more hosts, with the prose that explains it."""

    id: str
    kind: Kind
    hosts: tuple[str, ...]
    body: str
    lang: str
    prose: str
    section: str
    line: int
    file: str
    title: str = ""
    timeout: float = 300.0
    disruptive: bool = False
    reboot: bool = False
    transient: bool = False
    background: bool = False
    sudo: bool = False
    path: str | None = None
    mode: int | None = None
    interval: float = 0.5
    delay: float = 0.0
    message: str = ""
    hint: str = ""
    needs: tuple[str, ...] = ()
    wait_ssh: str | None = None
    url: str | None = None
    rate: int = 1000
    duration: float = 30.0
    vus: int = 10
    threshold: float | None = None
    expect: str | None = None

    @property
    def location(self) -> Location:
        return Location(file=self.file, line=self.line)

    @property
    def is_check(self) -> bool:
        return self.kind in ("check", "wait")

    @property
    def read_only(self) -> bool:
        """Whether --check may run it: checks that describe the finished lab."""
        return self.is_check and not self.transient


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    level: int
    line: int
    intro: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Watch:
    """What the live panes watch: VIPs, the hosts that may hold them, the URL to stream."""

    vips: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    url: str | None = None


@dataclass(frozen=True)
class Chapter:
    id: str
    title: str
    path: Path
    hosts: tuple[str, ...]
    vars: dict[str, str]
    watch: Watch
    sections: tuple[Section, ...]
    requires: str = ""
    front_matter_lines: int = 0
    #: Variables each step uses, for binding and error reporting.
    refs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Hosts the chapter creates: host → id of the check that passes once it exists.
    exists: dict[str, str] = field(default_factory=dict)
    #: Variables declared multi-line ([vars.NAME] multiline = true): may hold newlines.
    multiline: frozenset[str] = frozenset()

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for sec in self.sections for s in sec.steps)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        known = ", ".join(s.id for s in self.steps[:8])
        raise LabguideError(f"no step {step_id!r} in chapter {self.id}",
                            Location(file=self.path), hint=f"steps are e.g. {known}…")

    def section_of(self, step_id: str) -> Section:
        for sec in self.sections:
            if any(s.id == step_id for s in sec.steps):
                return sec
        raise KeyError(step_id)


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:40].strip("-") or "section"


def _err(msg: str, path: Path, line: int | None, hint: str | None = None) -> LabguideError:
    return LabguideError(msg, Location(file=path, line=line), hint)


def parse_attrs(raw: str, path: Path, line: int) -> dict[str, str | bool]:
    """Parse `{on="a, b" check timeout=10}` into {'on': 'a, b', 'check': True, 'timeout': '10'}."""
    raw = raw.strip()
    if not (raw.startswith("{") and raw.endswith("}")):
        raise _err(f"attributes must be in braces, e.g. {{on=\"host\"}}, not {raw!r}", path, line)
    try:
        words = shlex.split(raw[1:-1])
    except ValueError as exc:
        raise _err(f"bad attributes {raw!r}: {exc}", path, line) from None
    attrs: dict[str, str | bool] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not re.match(r"^[a-z_][a-z0-9_]*$", key):
            raise _err(f"bad attribute {word!r}", path, line)
        if key in attrs:
            raise _err(f"attribute {key!r} given twice", path, line)
        attrs[key] = value if sep else True
    return attrs


def load_chapter(path: str | Path) -> Chapter:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabguideError(f"cannot read chapter: {exc.strerror}", Location(file=path)) from None
    except UnicodeDecodeError:
        raise LabguideError("chapter is not UTF-8 text", Location(file=path)) from None
    return parse_chapter(text, path)


def _front_matter(text: str, path: Path) -> tuple[dict[str, Any], int]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        raise _err(f"a chapter starts with TOML front matter between '{FRONT_MATTER_FENCE}' lines",
                   path, 1)
    for end in range(1, len(lines)):
        if lines[end].strip() == FRONT_MATTER_FENCE:
            break
    else:
        raise _err(f"front matter is not closed by a '{FRONT_MATTER_FENCE}' line", path, 1)
    try:
        data = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) + 1 if m else (end if "end of document" in str(exc) else 1)
        raise _err(f"front matter is not valid TOML: {exc}", path, line) from None
    return data, end + 1


def _check_front_matter(fm: dict[str, Any], path: Path, text: str) -> tuple[
        str, str, tuple[str, ...], tuple[dict[str, str], frozenset[str]], Watch, str,
        dict[str, str]]:
    def line_of(key: str) -> int:
        return _line_in_front(text, key)

    allowed = {"id", "title", "hosts", "vars", "watch", "requires", "exists"}
    for key in fm:
        if key not in allowed:
            raise _err(f"unknown front matter key {key!r} (known: {', '.join(sorted(allowed))})",
                       path, line_of(key))
    cid = fm.get("id", path.stem)
    title = fm.get("title")
    if not isinstance(cid, str) or not STEP_ID.match(cid):
        raise _err("front matter 'id' must be lower-case letters, digits and dashes",
                   path, line_of("id"))
    if not isinstance(title, str) or not title.strip():
        raise _err("front matter needs a 'title'", path, line_of("title") or 2)
    hosts = fm.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        raise _err("front matter 'hosts' must be a list of host names", path, line_of("hosts"))
    raw_vars = fm.get("vars", {})
    if not isinstance(raw_vars, dict):
        raise _err("front matter 'vars' must be a table", path, line_of("vars"))
    variables = chapter_vars(raw_vars, path, line_of)
    raw_watch = fm.get("watch", {})
    if not isinstance(raw_watch, dict) or set(raw_watch) - {"vips", "candidates", "url"}:
        raise _err("front matter 'watch' takes vips, candidates and url", path, line_of("watch"))
    vips = raw_watch.get("vips", [])
    cands = raw_watch.get("candidates", [])
    url = raw_watch.get("url")
    if not isinstance(vips, list) or not all(isinstance(v, str) for v in vips):
        raise _err("watch.vips must be a list of strings", path, line_of("vips"))
    if not isinstance(cands, list) or not all(isinstance(v, str) for v in cands):
        raise _err("watch.candidates must be a list of host names", path, line_of("candidates"))
    if url is not None and not isinstance(url, str):
        raise _err("watch.url must be a string", path, line_of("url"))
    requires = fm.get("requires", "")
    if not isinstance(requires, str):
        raise _err("'requires' must be a string", path, line_of("requires"))
    exists = fm.get("exists", {})
    if not isinstance(exists, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in exists.items()):
        raise _err("'exists' maps host names to the id of the check that proves the host "
                   "exists", path, line_of("exists"))
    return (cid, title.strip(), tuple(hosts), variables,
            Watch(tuple(vips), tuple(cands), url), requires, dict(exists))


def _line_in_front(text: str, key: str) -> int:
    for n, line in enumerate(text.split("\n"), start=1):
        if re.match(rf"^\s*\[?\s*{re.escape(key)}\s*[=\]]", line):
            return n
    return 1


def _fence_closed(lines: list[str], start: int, end: int, markup: str) -> bool:
    """markdown-it lets a fence run to the end of the file; we call that an error."""
    if end - 1 <= start or end - 1 >= len(lines):
        return False
    closing = lines[end - 1].strip()
    return closing.startswith(markup[0] * len(markup)) and set(closing) <= {markup[0]}


def parse_chapter(text: str, path: Path) -> Chapter:
    fm, body_start = _front_matter(text, path)
    cid, title, hosts, (variables, multiline), watch, requires, exists = _check_front_matter(
        fm, path, text)
    lines = text.split("\n")
    body = "\n".join(lines[body_start:])
    tokens = MarkdownIt("commonmark").parse(body)

    sections: list[Section] = []
    cur_title, cur_level, cur_line, cur_id = title, 1, body_start + 1, "intro"
    cur_steps: list[Step] = []
    cur_intro = ""
    prose_from = body_start  # 0-based line in `lines` where the next step's prose starts
    seen_ids: dict[str, int] = {}
    refs: dict[str, tuple[str, ...]] = {}
    used_section_ids: set[str] = set()

    def prose_until(line0: int) -> str:
        chunk = [ln for ln in lines[prose_from:line0] if not re.match(r"^#{1,6}\s", ln)]
        return "\n".join(chunk).strip("\n")

    def close_section(end0: int) -> None:
        intro = cur_intro if cur_steps else prose_until(end0)
        sections.append(Section(cur_id, cur_title, cur_level, cur_line, intro, tuple(cur_steps)))

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open" and tok.map:
            level = int(tok.tag[1])
            heading = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            line0 = body_start + tok.map[0]
            if level == 1:
                i += 3
                continue
            close_section(line0)
            cur_title, cur_level, cur_line = heading, level, line0 + 1
            base = slug(heading)
            cur_id = base
            n = 2
            while cur_id in used_section_ids:
                cur_id = f"{base}-{n}"
                n += 1
            used_section_ids.add(cur_id)
            cur_steps = []
            prose_from = line0 + 1
            cur_intro = ""
            i += 3
            continue
        if tok.type == "fence" and tok.map:
            start0 = body_start + tok.map[0]
            end0 = body_start + tok.map[1]
            if not _fence_closed(lines, start0, end0, tok.markup):
                raise _err("code block is not closed (missing closing fence)", path, start0 + 1)
            info = tok.info.strip()
            lang, _, rest = info.partition(" ")
            if "{" in lang:
                lang, _, tail = lang.partition("{")
                rest = "{" + tail + (" " + rest if rest else "")
            if rest.strip():
                step = _make_step(lang, rest, tok.content, path, start0 + 1,
                                  prose_until(start0), cur_title, cur_id, len(cur_steps))
                if step.id in seen_ids:
                    raise _err(f"step id {step.id!r} is used twice (first on line "
                               f"{seen_ids[step.id]})", path, step.line)
                seen_ids[step.id] = step.line
                names = _refs_of(step, path)
                refs[step.id] = names
                if not cur_steps:
                    cur_intro = step.prose
                cur_steps.append(step)
                prose_from = end0
        i += 1
    close_section(len(lines))

    chapter = Chapter(id=cid, title=title, path=path, hosts=hosts, vars=variables, watch=watch,
                      sections=tuple(s for s in sections if s.steps or s.intro.strip()),
                      requires=requires, front_matter_lines=body_start, refs=refs,
                      exists=exists, multiline=multiline)
    _validate(chapter, text)
    return chapter


def _num(attrs: dict[str, str | bool], key: str, default: float, path: Path, line: int,
         minimum: float = 0.0) -> float:
    if key not in attrs:
        return default
    raw = attrs[key]
    if raw is True:
        raise _err(f"attribute {key} needs a value, e.g. {key}=10", path, line)
    text = str(raw).strip()
    mult = 1.0
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            text, mult = text[: -len(suffix)], factor
            break
    try:
        value = float(text) * mult
    except ValueError:
        raise _err(f"attribute {key}={raw!r} is not a number", path, line) from None
    if value < minimum or value != value or value > 1e7:
        raise _err(f"attribute {key}={raw!r} is out of range", path, line)
    return value


def _make_step(lang: str, raw_attrs: str, content: str, path: Path, line: int, prose: str,
               section_title: str, section_id: str, index: int) -> Step:
    attrs = parse_attrs(raw_attrs, path, line)
    kinds = [k for k in ("check", "wait", "load") if attrs.get(k) is True]
    if "file" in attrs:
        raise _err("write a file with {on=HOST path=/the/path}, not file=", path, line)
    if "path" in attrs and lang != "keepalived":
        kinds.append("file")
    if lang == "qm" and not kinds:
        kinds.append("qm")
    if len(kinds) > 1:
        raise _err(f"a block is one kind of step, not {' and '.join(kinds)}", path, line)
    kind: str = kinds[0] if kinds else "run"
    if kind in ("check", "wait") and lang == "qm":
        pass
    elif lang == "keepalived" and (kind != "check" or "path" not in attrs):
        raise _err("a keepalived block is a check of a file: {on=HOST check path=/etc/…}",
                   path, line)
    elif lang == "keepalived":
        pass
    elif kind in ("run", "check", "wait", "load") and lang not in SHELL_LANGS:
        raise _err(f"a {kind} block must be sh, bash or shell, not {lang or 'unlabelled'!r}",
                   path, line, hint="only blocks with {…} attributes are steps; drop them to "
                   "show the block as text")
    allowed = COMMON_ATTRS | KIND_ATTRS[kind] | {kind}
    for key in attrs:
        if key not in allowed:
            raise _err(f"unknown attribute {key!r} for a {kind} step "
                       f"(known: {', '.join(sorted(allowed - {kind}))})", path, line)
    for key, value in attrs.items():
        if key in FLAGS and value not in (True, "true", "false"):
            raise _err(f"attribute {key} is a flag: write {key} or {key}=false", path, line)
        if key not in FLAGS | {kind} and value is True:
            raise _err(f"attribute {key} needs a value, e.g. {key}=\"…\"", path, line)
    on = attrs.get("on")
    if not isinstance(on, str) or not on.strip():
        raise _err("a step needs on=\"HOST\" (or on=\"HOST1, HOST2\")", path, line)
    hosts = tuple(h.strip() for h in on.split(",") if h.strip())
    for h in hosts:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", h):
            raise _err(f"bad host name {h!r} in on=", path, line)
    if len(set(hosts)) != len(hosts):
        raise _err("a host is named twice in on=", path, line)
    if kind in ("file", "qm", "load") and len(hosts) != 1 and kind != "file":
        raise _err(f"a {kind} step runs on exactly one host", path, line)
    sid = attrs.get("id")
    if sid is None:
        sid = f"{section_id}-{index + 1}"
    if not isinstance(sid, str) or not STEP_ID.match(sid):
        raise _err(f"step id {sid!r} must be lower-case letters, digits and dashes", path, line)

    def flag(key: str) -> bool:
        return attrs.get(key) in (True, "true")

    def text(key: str) -> str:
        value = attrs.get(key, "")
        return value if isinstance(value, str) else ""

    mode = None
    if "mode" in attrs:
        if not re.match(r"^0?[0-7]{3,4}$", str(attrs["mode"])):
            raise _err(f"mode={attrs['mode']!r} must be octal, e.g. mode=\"0644\"", path, line)
        mode = int(str(attrs["mode"]), 8)
    if "path" in attrs and not str(attrs.get("path", "")).startswith(("/", "~", "$")):
        raise _err("path= must be absolute", path, line)
    needs = tuple(n.strip() for n in text("needs").split(",") if n.strip())
    if "expect" in attrs:
        try:
            re.compile(text("expect"))
        except re.error as exc:
            raise _err(f"expect={text('expect')!r} is not a valid regular expression: {exc}",
                       path, line) from None
    if kind == "load" and not text("url"):
        raise _err("a load step needs url=\"http://…\"", path, line)
    threshold = None
    if "threshold" in attrs:
        threshold = _num(attrs, "threshold", 0.0, path, line)
        if threshold > 1:
            raise _err("threshold is a success ratio from 0 to 1", path, line)
    return Step(
        id=sid, kind=kind,  # type: ignore[arg-type]
        hosts=hosts, body=content, lang=lang, prose=prose, section=section_id,
        line=line, file=str(path), title=text("title"),
        timeout=_num(attrs, "timeout", DEFAULT_TIMEOUT[kind], path, line, 0.001),
        disruptive=flag("disruptive") or flag("reboot"), reboot=flag("reboot"),
        transient=flag("transient"), background=flag("background"), sudo=flag("sudo"),
        path=text("path") or None, mode=mode,
        interval=_num(attrs, "interval", 0.5, path, line, 0.01),
        delay=_num(attrs, "delay", 0.0, path, line),
        message=text("message"), hint=text("hint"), needs=needs,
        wait_ssh=text("wait_ssh") or None, url=text("url") or None,
        rate=int(_num(attrs, "rate", 1000, path, line, 1)),
        duration=_num(attrs, "duration", 30.0, path, line, 0.1),
        vus=int(_num(attrs, "vus", 10, path, line, 1)), threshold=threshold,
        expect=text("expect") or None,
    )


def check_qm(script: str, path: Path | str, line: int) -> None:
    """qm blocks are parsed before anything runs, so an unsupported subcommand fails early."""
    from labguide.transports.qm import QmSyntaxError, parse_qm_script

    try:
        parse_qm_script(script)
    except QmSyntaxError as exc:
        raise _err(str(exc.args[0]) if exc.args else str(exc), Path(path),
                   line + 1 + int(getattr(exc, "line_index", 0))) from None


def _refs_of(step: Step, path: Path) -> tuple[str, ...]:
    names: list[str] = []
    for field_text, _line in _texts_of(step):
        for m in VAR_REF.finditer(field_text):
            if m.group(1):
                continue  # $${X} is a literal ${X}
            name = m.group(2)
            if not VAR_NAME.match(name):
                continue  # shell syntax such as ${a%% *}: not a chapter variable
            if name not in names:
                names.append(name)
    return tuple(names)


def _texts_of(step: Step) -> list[tuple[str, int]]:
    out = [(step.body, step.line + 1)]
    for extra in (step.path, step.url, step.message, step.hint, step.wait_ssh):
        if extra:
            out.append((extra, step.line))
    return out


def _validate(chapter: Chapter, text: str) -> None:
    """Cross-step checks: hosts in the front matter, known `needs`, defined variables."""
    path = chapter.path
    declared = set(chapter.hosts)
    ids = {s.id for s in chapter.steps}
    for step in chapter.steps:
        for h in step.hosts:
            if declared and h not in declared:
                raise _err(f"unknown host {h!r}: the front matter's hosts are "
                           f"{', '.join(chapter.hosts)}", path, step.line)
        if step.wait_ssh and declared and step.wait_ssh not in declared:
            raise _err(f"wait_ssh names unknown host {step.wait_ssh!r}", path, step.line)
        for field_text, first_line in _texts_of(step):
            for m in VAR_REF.finditer(field_text):
                if m.group(1) or not VAR_NAME.match(m.group(2)):
                    continue
                if m.group(2) not in chapter.vars:
                    ln = first_line + field_text[: m.start()].count("\n")
                    raise _err(f"undefined variable ${{{m.group(2)}}}", path, ln,
                               hint="declare it with a default under [vars] in the front "
                               "matter, or write $${…} for a literal ${…}")
        if step.lang == "qm":
            check_qm(_with_defaults(step.body, chapter.vars), path, step.line)
        for need in step.needs:
            if need not in ids:
                raise _err(f"needs={need!r} is not a step id of this chapter", path, step.line)
    for h, sid in chapter.exists.items():
        if declared and h not in declared:
            raise _err(f"exists names unknown host {h!r}", path, _line_in_text(text, h))
        if sid not in ids:
            raise _err(f"exists: {sid!r} is not a step id of this chapter", path,
                       _line_in_text(text, h))
    for h in chapter.watch.candidates:
        if declared and h not in declared:
            raise _err(f"watch.candidates names unknown host {h!r}", path,
                       _line_in_text(text, "candidates"))
    for value, key in [(v, "vips") for v in chapter.watch.vips] + [
            (chapter.watch.url or "", "url")]:
        for m in VAR_REF.finditer(value):
            if not m.group(1) and m.group(2) not in chapter.vars:
                raise _err(f"watch.{key} uses undefined variable ${{{m.group(2)}}}", path,
                           _line_in_text(text, key))


def _with_defaults(body: str, values: dict[str, str]) -> str:
    """A qm block with the chapter's default values put in (to parse it at load time)."""

    def repl(m: re.Match[str]) -> str:
        return m.group(0) if m.group(1) else shlex.quote(values.get(m.group(2), "0"))

    return VAR_REF.sub(repl, body)


def _line_in_text(text: str, key: str) -> int:
    for n, line in enumerate(text.split("\n"), start=1):
        if re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return n
    return 1


def find_chapter(name_or_path: str) -> Path:
    """A bundled chapter by name (`l4lb-ha`) or a path to a Markdown file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".md" or "/" in name_or_path:
        if not candidate.is_file():
            raise LabguideError(f"no chapter file {name_or_path}", Location(file=candidate))
        return candidate
    for path in bundled_chapters():
        if path.stem == name_or_path:
            return path
    names = ", ".join(p.stem for p in bundled_chapters()) or "(none)"
    raise LabguideError(f"no chapter named {name_or_path!r}", hint=f"bundled chapters: {names}")


def bundled_chapters() -> list[Path]:
    from importlib import resources

    root = resources.files("labguide.chapters")
    found = []
    for entry in root.iterdir():
        if entry.name.endswith(".md") and entry.is_file():
            found.append(Path(str(entry)))
    return sorted(found)
