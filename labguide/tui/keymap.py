"""The TUI's key bindings, each with an id, and the user's settings file that may remap them.

Settings live in `<platformdirs user config dir>/labguide/tui.toml` ($LABGUIDE_CONFIG_DIR
overrides the folder). Only plain data here: the app applies it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from textual.binding import Binding, BindingType

from labguide.errors import LabguideError, Location
from labguide.i18n import N_
from labguide.i18n import gettext as _

#: (id, default keys, action, footer label (translated where shown), shown in the footer)
FLOW_KEYS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("run_step", "r,enter", "run_step", N_("Run"), True),
    ("skip_step", "s", "skip_step", N_("Skip"), True),
    ("retry_step", "t", "retry_step", N_("Retry"), True),
    ("back", "b,up", "step_back", N_("Back"), True),
    ("next", "n,down", "next", N_("Next"), False),
    ("jump", "j", "jump", N_("Jump"), True),
    ("run_section", "R", "run_section", N_("Rest of section"), True),
    ("cancel", "ctrl+c,escape", "cancel", N_("Cancel"), True),
    ("toggle_stream", "l", "toggle_stream", N_("Stream"), True),
    ("rate_up", "plus,equals_sign", "rate_up", N_("Rate+"), False),
    ("rate_down", "minus", "rate_down", N_("Rate-"), False),
    ("quit", "q", "quit", N_("Quit"), True),
    ("shell", "x", "shell", N_("Shell"), True),
    ("host_filter", "h", "next_host", N_("Host"), False),
    ("search", "slash", "search", N_("Search"), False),
    ("copy", "c", "copy_command", N_("Copy"), False),
)

#: The stream pane's rates, stepped through with rate_up / rate_down.
RATES: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def bindings() -> list[BindingType]:
    out: list[BindingType] = []
    for bid, keys, action, label, show in FLOW_KEYS:
        out.append(Binding(keys, action, label, show=show, id=bid,
                           priority=bid in ("cancel", "quit")))
    return out


def config_dir() -> Path:
    override = os.environ.get("LABGUIDE_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir("labguide"))


@dataclass(frozen=True)
class TuiSettings:
    """What tui.toml may set: `theme = "nord"`, `stream_rate = 10`, `[keymap] run_step = "x"`."""

    keymap: dict[str, str] = field(default_factory=dict)
    theme: str | None = None
    stream_rate: int = 10
    path: Path | None = None


def load_settings(path: Path | None = None) -> TuiSettings:
    path = path or config_dir() / "tui.toml"
    if not path.is_file():
        return TuiSettings(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LabguideError(_("cannot read the TUI settings: {error}").format(error=exc),
                            Location(file=path)) from None
    known = {bid for bid, *_ in FLOW_KEYS}
    raw_keys = data.get("keymap", {})
    if not isinstance(raw_keys, dict):
        raise LabguideError(_("[keymap] must be a table"), Location(file=path, key="keymap"))
    keymap: dict[str, str] = {}
    for bid, keys in raw_keys.items():
        if bid not in known:
            raise LabguideError(_("unknown key binding id {id!r}").format(id=bid),
                                Location(file=path, key=f"keymap.{bid}"),
                                hint=_("ids: {ids}").format(ids=", ".join(sorted(known))))
        if not isinstance(keys, str) or not keys.strip():
            raise LabguideError(_("keymap.{id} must be keys like \"x\" or \"ctrl+x,f5\"").format(
                id=bid), Location(file=path, key=f"keymap.{bid}"))
        keymap[bid] = keys.replace(" ", "")
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise LabguideError(_("theme must be a string"), Location(file=path, key="theme"))
    rate = data.get("stream_rate", 10)
    if not isinstance(rate, int) or not 1 <= rate <= 1000:
        raise LabguideError(_("stream_rate must be an integer from 1 to 1000"),
                            Location(file=path, key="stream_rate"))
    return TuiSettings(keymap=keymap, theme=theme, stream_rate=rate, path=path)


def rate_step(rate: int, up: bool) -> int:
    """The next rate up or down the RATES ladder (clamped to 1..1000)."""
    if up:
        return next((r for r in RATES if r > rate), RATES[-1])
    return next((r for r in reversed(RATES) if r < rate), RATES[0])
