""""Did you mean …": the known names closest to one that was mistyped (a step, a section,
a host), for error hints. Pure; nothing here raises."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from labguide.i18n import gettext as _


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """'did you mean 'x'?' for the closest known names (None when nothing is close)."""
    names = list(dict.fromkeys(known))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if not close:  # a prefix or a part of an id is close too ("failover" → failover-…)
        close = [n for n in names if name and name in n][:3]
    if not close:
        return None
    # TRANSLATORS: joins two or three names in "did you mean 'a' or 'b'?"
    names_said = _(" or ").join(repr(c) for c in close)
    return _("did you mean {names}?").format(names=names_said)
