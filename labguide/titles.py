"""A step's short human title, for lists where its kebab-case id reads poorly (the TUI's
step list, the jump picker, completion): the chapter's `title=`, else what a check proves
(its message), else what the step acts on (a file's name), else its first command (without
`sudo`). The id
stays beside it where it is typed (jump, --from, reports). Pure; no front-end."""

from __future__ import annotations

import posixpath

from labguide.i18n import gettext as _
from labguide.model import Step
from labguide.plan import BoundStep

#: Titles are cut here (a list shows less on a narrow terminal, cut again by the widget).
MAX_TITLE = 72


def first_command(script: str) -> str:
    """The first line that does something: not blank, not a comment."""
    for line in script.splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            return text
    return ""


def title_of(step: Step, message: str, script: str) -> str:
    path = step.texts.get("path", "")
    if step.title:
        text = step.title
    elif message:
        text = message
    elif path and not step.shell:  # the whole path is in the step view
        text = (_("check {file}") if step.check else _("write {file}")).format(
            file=posixpath.basename(path) or path)
    else:
        text = first_command(script).removeprefix("sudo ") or step.id
    return text if len(text) <= MAX_TITLE else text[:MAX_TITLE - 1] + "…"


def step_title(step: Step) -> str:
    """The title from the chapter as written (variables not bound: `${VIP}`)."""
    return title_of(step, step.message, step.body)


def bound_title(bound: BoundStep) -> str:
    """The title with the lab's values in it (secrets masked, as everything shown)."""
    return title_of(bound.step, bound.message, bound.shown)
