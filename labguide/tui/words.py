"""Textual's own texts in the reader's language: binding labels (the footer and Textual's
key panel read them from a screen's active bindings, so the screens here translate them
there), the command palette's placeholder and system commands. The bindings themselves keep
their English labels, marked for the catalog: Textual merges a class's BINDINGS when the
class is made, before any language is chosen.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import TypeVar

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import ActiveBinding, Binding
from textual.command import CommandPalette
from textual.screen import ModalScreen, Screen
from textual.theme import ThemeProvider

from labguide.i18n import N_, SOURCE_LANG, language
from labguide.i18n import gettext as _

#: Textual's words that reach our screens (its palette binding, its system commands).
R = TypeVar("R")
FIELD = re.compile(r"\{(\w+)\}")

TEXTUAL_WORDS = (
    N_("palette"), N_("Open the command palette"), N_("Search for commands…"),
    N_("Search for themes…"), N_("Theme"), N_("Change the current theme"), N_("Quit"),
    N_("Quit the application as soon as possible"), N_("Keys"),
    N_("Hide the keys and widget help panel"),
    N_("Show help for the focused widget and a summary of available keys"), N_("Minimize"),
    N_("Minimize the widget and restore to normal size"), N_("Maximize"),
    N_("Maximize the focused widget"), N_("Screenshot"),
    N_("Save an SVG 'screenshot' of the current screen"),
)


def translated(binding: Binding) -> Binding:
    """The binding with its label and tooltip in the run's language."""
    if not binding.description and not binding.tooltip:
        return binding
    return dataclasses.replace(binding, description=_(binding.description),
                               tooltip=_(binding.tooltip) if binding.tooltip else "")


class TranslatedBindings(Screen[R]):
    """A screen whose active bindings (what the footer and the key panel show) speak the
    run's language."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        found = super().active_bindings
        if language() == SOURCE_LANG:
            return found
        return {key: ab._replace(binding=translated(ab.binding),
                                 tooltip=_(ab.tooltip) if ab.tooltip else "")
                for key, ab in found.items()}


class MainScreen(TranslatedBindings[object]):
    """The app's default screen."""


class Modal(TranslatedBindings[R], ModalScreen[R]):
    """The base of labguide's dialogs."""


class TextualWords(App[int]):
    """The app's Textual-facing texts: its default screen, the command palette."""

    def get_default_screen(self) -> Screen[object]:
        return MainScreen(id="_default")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            yield command._replace(title=_(command.title), help=_(command.help))

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(CommandPalette(placeholder=_("Search for commands…"),
                                            id="--command-palette"))

    def search_themes(self) -> None:
        self.push_screen(CommandPalette(providers=[ThemeProvider],
                                        placeholder=_("Search for themes…")))


def styled(template: str, **parts: Text | str) -> Text:
    """A translated template whose {fields} are Rich texts of their own style (the language
    decides their order: "{kind} on {hosts}" is "{hosts} で {kind}" in Japanese)."""
    out = Text()
    for n, piece in enumerate(FIELD.split(template)):
        if n % 2 == 0:
            out.append(piece)
        else:
            part = parts[piece]
            out.append_text(part if isinstance(part, Text) else Text(part))
    return out
