"""Step kinds, one module each, and the registry that finds the kind of a block.

Adding a kind: write its module (a `StepKind` subclass: attributes, checks, `run`), add one
line to KINDS below, and describe it in docs/chapter-format.md (docs/architecture.md).
"""

from __future__ import annotations

from labguide.i18n import gettext as _
from labguide.model import Step
from labguide.steps import checks, file, keepalived, load, qm, reboot, run
from labguide.steps.context import Verdict
from labguide.steps.kind import Attrs, StepKind

__all__ = ["KINDS", "Attrs", "StepKind", "Verdict", "classify", "kind_of"]

#: Every kind, by name; the first is the default for a shell block with no marker.
KINDS: dict[str, StepKind] = {k.name: k for k in (
    run.KIND,
    checks.CHECK,
    checks.WAIT,
    reboot.KIND,
    file.KIND,
    qm.KIND,
    load.KIND,
    keepalived.KIND,
)}
DEFAULT = run.KIND


def kind_of(step: Step) -> StepKind:
    return KINDS[step.kind]


def _marked(kind: StepKind, attrs: Attrs) -> bool:
    return kind.marker is not None and attrs.values.get(kind.marker, "false") != "false"


def classify(attrs: Attrs) -> StepKind:
    """The kind of a block with attributes: the one its language belongs to, else the one
    its marker attribute names (`check`, `wait`, `load`, `path=`, `reboot`), else its
    language's default (qm), else `run`. Two markers are an error."""
    if "file" in attrs:
        raise attrs.error(_("write a file with {on=HOST path=/the/path}, not file="))
    for kind in KINDS.values():
        if attrs.lang in kind.owns_langs:
            return kind
    marked = [k for k in KINDS.values() if _marked(k, attrs)]
    if len(marked) > 1:
        raise attrs.error(_("a block is one kind of step, not {kinds}").format(
            kinds=_(" and ").join(k.name for k in marked)))
    if marked:
        return marked[0]
    for kind in KINDS.values():
        if attrs.lang in kind.default_for_langs:
            return kind
    return DEFAULT
