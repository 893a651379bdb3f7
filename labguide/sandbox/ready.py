"""Which cached images are complete and of the current recipe: a mark file in each, holding
the recipe's version (a build interrupted before it leaves no mark). Files only."""

from __future__ import annotations

from pathlib import Path

IMAGE_VERSION = "4"  # bump when the recipe changes: a cached image of another version is rebuilt
READY_MARK = ".labguide-ready"


def is_ready(path: Path) -> bool:
    mark = path / READY_MARK
    return mark.exists() and mark.read_text().strip() == IMAGE_VERSION


def mark_ready(path: Path) -> None:
    (path / READY_MARK).write_text(IMAGE_VERSION + "\n")
