"""labguide: walks a person through a hands-on infrastructure lab, step by step."""

__version__ = "0.1.0"
