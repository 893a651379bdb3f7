"""The Textual front-end. Only this package imports textual."""

from labguide.tui import textual_fixes as _textual_fixes  # noqa: F401  (patches a leak first)
