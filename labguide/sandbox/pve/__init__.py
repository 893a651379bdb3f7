"""An emulator of the Proxmox VE API (node1 of the sandbox lab). No Textual here."""
