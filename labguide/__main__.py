"""`python -m labguide` runs the command line."""

from labguide.cli import main

main()
