"""The sandbox lab: the chapter's hosts as systemd-nspawn containers on a private bridge."""
