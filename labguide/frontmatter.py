"""A chapter's TOML front matter (between `+++` lines) → `FrontMatter`, with located errors.

Parsing only. What each key means: docs/chapter-format.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labguide.chapter_files import split_name
from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _
from labguide.model import Watch
from labguide.tomlloc import key_line, load_toml
from labguide.variables import VAR_NAME, chapter_vars

__all__ = ["VAR_NAME", "FrontMatter", "read_front_matter", "split"]

FENCE = "+++"
STEP_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
KEYS = ("id", "title", "hosts", "vars", "watch", "requires", "exists")


@dataclass(frozen=True)
class FrontMatter:
    id: str
    title: str
    hosts: tuple[str, ...]
    vars: dict[str, str]
    watch: Watch
    requires: str = ""
    #: Variables declared multi-line ([vars.NAME] multiline = true): may hold newlines.
    multiline: frozenset[str] = frozenset()
    #: Hosts the chapter creates: host → id of the check that passes once it exists.
    exists: dict[str, str] = field(default_factory=dict)
    #: 0-based index of the first line after the closing fence (where the body starts).
    body_start: int = 0


def split(text: str, path: Path) -> tuple[dict[str, Any], int]:
    """The front matter's TOML data and the 0-based line where the body starts."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != FENCE:
        raise _err(_("a chapter starts with TOML front matter between '{fence}' lines").format(
            fence=FENCE), path, 1)
    for end in range(1, len(lines)):
        if lines[end].strip() == FENCE:
            break
    else:
        raise _err(_("front matter is not closed by a '{fence}' line").format(fence=FENCE),
                   path, 1)
    data = load_toml("\n".join(lines[1:end]), path, what=_("front matter"), first_line=2)
    return data, end + 1


def _err(msg: str, path: Path, line: int | None) -> LabguideError:
    return LabguideError(msg, Location(file=path, line=line))


class _Reader:
    """Checks one front matter's keys; errors name the line of the key."""

    def __init__(self, data: dict[str, Any], path: Path, text: str) -> None:
        self.data, self.path, self.text = data, path, text

    def fail(self, msg: str, key: str) -> LabguideError:
        return _err(msg, self.path, key_line(self.text, key))

    def strings(self, value: Any, label: str, message: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(message, label.rpartition(".")[2])
        return tuple(value)

    def variables(self) -> tuple[dict[str, str], frozenset[str]]:
        """[vars]: the defaults, and the names declared multi-line (labguide/variables.py)."""
        raw = self.data.get("vars", {})
        if not isinstance(raw, dict):
            raise self.fail(_("front matter 'vars' must be a table"), "vars")
        return chapter_vars(raw, self.path, lambda key: key_line(self.text, key))

    def watch(self) -> Watch:
        raw = self.data.get("watch", {})
        if not isinstance(raw, dict) or set(raw) - {"vips", "candidates", "url"}:
            raise self.fail(_("front matter 'watch' takes vips, candidates and url"), "watch")
        url = raw.get("url")
        if url is not None and not isinstance(url, str):
            raise self.fail(_("watch.url must be a string"), "url")
        return Watch(self.strings(raw.get("vips", []), "watch.vips",
                                  _("watch.vips must be a list of strings")),
                     self.strings(raw.get("candidates", []), "watch.candidates",
                                  _("watch.candidates must be a list of host names")), url)

    def identity(self) -> tuple[str, str]:
        # a translation's too: NAME.LANG.md → NAME
        cid, title = self.data.get("id", split_name(self.path)[0]), self.data.get("title")
        if not isinstance(cid, str) or not STEP_ID.match(cid):
            raise self.fail(_("front matter 'id' must be lower-case letters, digits and dashes"),
                            "id")
        if not isinstance(title, str) or not title.strip():
            raise _err(_("front matter needs a 'title'"), self.path,
                       key_line(self.text, "title", default=2))
        return cid, title.strip()

    def exists(self) -> dict[str, str]:
        raw = self.data.get("exists", {})
        if not isinstance(raw, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            raise self.fail(_("'exists' maps host names to the id of the check that proves the "
                              "host exists"), "exists")
        return dict(raw)


def read_front_matter(text: str, path: Path) -> FrontMatter:
    data, body_start = split(text, path)
    reader = _Reader(data, path, text)
    for key in data:
        if key not in KEYS:
            raise reader.fail(_("unknown front matter key {key!r} (known: {known})").format(
                key=key, known=", ".join(sorted(KEYS))), key)
    cid, title = reader.identity()
    hosts = data.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        raise reader.fail(_("front matter 'hosts' must be a list of host names"), "hosts")
    requires = data.get("requires", "")
    if not isinstance(requires, str):
        raise reader.fail(_("'requires' must be a string"), "requires")
    variables, multiline = reader.variables()
    return FrontMatter(id=cid, title=title, hosts=tuple(hosts), vars=variables,
                       watch=reader.watch(), requires=requires, multiline=multiline,
                       exists=reader.exists(), body_start=body_start)
