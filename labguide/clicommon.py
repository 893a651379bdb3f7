"""What the command-line front-ends share (main commands, `probe`, `watch`, `lab`): which
inventory a command uses when none is given. No click, no Textual here."""

from __future__ import annotations

import os
from pathlib import Path

INVENTORY_ENV = "LABGUIDE_INVENTORY"


def default_inventory(given: str | None) -> Path | None:
    """`given`, else $LABGUIDE_INVENTORY, else the sandbox lab's once `lab up` made it."""
    if given:
        return Path(given)
    env = os.environ.get(INVENTORY_ENV)
    if env:
        return Path(env)
    from labguide.sandbox.paths import LabPaths

    sandbox = LabPaths.default().inventory
    return sandbox if sandbox.is_file() else None
