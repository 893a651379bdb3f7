"""Transports run commands on a lab host: ssh (asyncssh), local, proxmox (qm over the API)."""
