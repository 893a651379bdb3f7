"""The chapters bundled with labguide (Markdown files; this package only locates them)."""
