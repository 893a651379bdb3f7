"""A fenced block with `{…}` attributes → a `Step`: its attributes read, its kind found in
the registry, the kind's own attributes checked by the kind. Errors name the block's line."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from labguide.errors import LabguideError, Location
from labguide.frontmatter import STEP_ID
from labguide.i18n import gettext as _
from labguide.model import Step
from labguide.steps import classify
from labguide.steps.kind import COMMON_ATTRS, FLAGS, SHELL_LANGS, Attrs, StepKind

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ATTR_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Block:
    """A fenced block and where it stands in the chapter."""

    lang: str
    raw_attrs: str
    content: str
    path: Path
    line: int
    prose: str
    section_id: str
    index: int  # the block's position among its section's steps


def parse_attrs(raw: str, path: Path, line: int) -> dict[str, str | bool]:
    """`{on="a, b" check timeout=10}` → {'on': 'a, b', 'check': True, 'timeout': '10'}."""
    raw = raw.strip()
    if not (raw.startswith("{") and raw.endswith("}")):
        raise _err(_("attributes must be in braces, e.g. {example}, not {raw!r}").format(
            example='{on="host"}', raw=raw), path, line)
    try:
        words = shlex.split(raw[1:-1])
    except ValueError as exc:
        raise _err(_("bad attributes {raw!r}: {error}").format(raw=raw, error=exc), path,
                   line) from None
    attrs: dict[str, str | bool] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not ATTR_NAME.match(key):
            raise _err(_("bad attribute {word!r}").format(word=word), path, line)
        if key in attrs:
            raise _err(_("attribute {key!r} given twice").format(key=key), path, line)
        attrs[key] = value if sep else True
    return attrs


def _err(msg: str, path: Path, line: int, hint: str | None = None) -> LabguideError:
    return LabguideError(msg, Location(file=path, line=line), hint)


def _check_lang(kind: StepKind, attrs: Attrs) -> None:
    if kind.langs is not None and attrs.lang not in kind.langs:
        wanted = (_("sh, bash or shell") if kind.langs == SHELL_LANGS
                  else _(" or ").join(kind.langs))
        raise attrs.error(_("a {kind} block must be {wanted}, not {lang!r}").format(
            kind=kind.name, wanted=wanted, lang=attrs.lang or _("unlabelled")),
            hint=_("only blocks with {…} attributes are steps; drop them to show the block as "
                   "text"))


def _check_names(kind: StepKind, attrs: Attrs) -> None:
    allowed = COMMON_ATTRS | kind.attrs | ({kind.marker} if kind.marker else set())
    for key, value in attrs.values.items():
        if key not in allowed:
            raise attrs.error(_("unknown attribute {key!r} for a {kind} step (known: {known})"
                                ).format(key=key, kind=kind.name,
                                         known=", ".join(sorted(allowed - {kind.marker}))))
        if key in FLAGS and value not in (True, "true", "false"):
            raise attrs.error(_("attribute {key} is a flag: write {key} or {key}=false").format(
                key=key))
        if key not in FLAGS and value is True:
            raise attrs.error(_("attribute {key} needs a value, e.g. {key}=\"…\"").format(
                key=key))


def _hosts(kind: StepKind, attrs: Attrs) -> tuple[str, ...]:
    on = attrs.values.get("on")
    if not isinstance(on, str) or not on.strip():
        raise attrs.error(_("a step needs on=\"HOST\" (or on=\"HOST1, HOST2\")"))
    hosts = tuple(h.strip() for h in on.split(",") if h.strip())
    for h in hosts:
        if not HOST_NAME.match(h):
            raise attrs.error(_("bad host name {host!r} in on=").format(host=h))
    if len(set(hosts)) != len(hosts):
        raise attrs.error(_("a host is named twice in on="))
    if kind.single_host and len(hosts) != 1:
        raise attrs.error(_("a {kind} step runs on exactly one host").format(kind=kind.name))
    return hosts


def build_step(block: Block) -> Step:
    attrs = Attrs(parse_attrs(block.raw_attrs, block.path, block.line), block.lang,
                  block.path, block.line)
    kind = classify(attrs)
    _check_lang(kind, attrs)
    _check_names(kind, attrs)
    hosts = _hosts(kind, attrs)
    sid = attrs.values.get("id", f"{block.section_id}-{block.index + 1}")
    if not isinstance(sid, str) or not STEP_ID.match(sid):
        raise attrs.error(_("step id {step!r} must be lower-case letters, digits and dashes"
                            ).format(step=sid))
    options = kind.options(attrs)
    return Step(
        id=sid, kind=kind.name, hosts=hosts, body=block.content, lang=block.lang,
        prose=block.prose, section=block.section_id, line=block.line, file=str(block.path),
        title=attrs.text("title"),
        timeout=attrs.duration("timeout", kind.default_timeout, minimum=0.001),
        check=kind.check, shell=kind.quotes_values,
        disruptive=attrs.flag("disruptive") or kind.always_disruptive,
        transient=attrs.flag("transient"), background=attrs.flag("background"),
        delay=attrs.duration("delay", 0.0), message=attrs.text("message"),
        hint=attrs.text("hint"),
        needs=tuple(n.strip() for n in attrs.text("needs").split(",") if n.strip()),
        reaches=kind.reaches(attrs),
        texts={key: attrs.text(key) for key in kind.texts if attrs.text(key)},
        options=options,
    )
