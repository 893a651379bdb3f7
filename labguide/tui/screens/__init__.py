"""Modal screens of the TUI: confirmation, file diff, step picker."""
