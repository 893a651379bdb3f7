"""A host key seen for the first time, as a question for the reader (OpenSSH asks the same:
"The authenticity of host … can't be established"), and the type of whoever answers it.
Data and words only: the SSH transport asks, a front-end answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from labguide.i18n import gettext as _

#: The host key file of each key type on a host, to compare fingerprints there.
KEY_FILES = {"ssh-ed25519": "ssh_host_ed25519_key.pub", "ssh-rsa": "ssh_host_rsa_key.pub",
             "ecdsa-sha2-nistp256": "ssh_host_ecdsa_key.pub",
             "ecdsa-sha2-nistp384": "ssh_host_ecdsa_key.pub",
             "ecdsa-sha2-nistp521": "ssh_host_ecdsa_key.pub"}
#: OpenSSH's names of key types, as it prints them ("ED25519 key fingerprint is …").
TYPE_NAMES = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA", "ecdsa-sha2-nistp256": "ECDSA",
              "ecdsa-sha2-nistp384": "ECDSA", "ecdsa-sha2-nistp521": "ECDSA"}


@dataclass(frozen=True)
class HostKeyQuestion:
    """Whether to trust `fingerprint` for `host` (at address:port) from now on."""

    host: str
    address: str
    port: int
    key_type: str
    fingerprint: str
    known_hosts: Path

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.key_type, self.key_type)

    @property
    def where(self) -> str:
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"

    def compare_command(self) -> str:
        """What to run on the host itself (its console) to see the same fingerprint."""
        return f"ssh-keygen -lf /etc/ssh/{KEY_FILES.get(self.key_type, 'ssh_host_*_key.pub')}"

    def lines(self) -> list[str]:
        """The question in OpenSSH's words, then where to compare the fingerprint."""
        return _(
            "The authenticity of host '{host}' ({address}) can't be established.\n"
            "{type} key fingerprint is {fingerprint}.\n"
            "This key is not known: {known_hosts} has no key for {address}.\n"
            "Compare it with the host's own, on its console: {command}\n"
            "(on Proxmox: the VM's console in the web UI, or `qm terminal VMID`; cloud-init\n"
            "also prints the new keys' fingerprints there at the first boot)."
        ).format(host=self.host, address=self.where, type=self.type_name,
                 fingerprint=self.fingerprint, known_hosts=self.known_hosts,
                 command=self.compare_command()).splitlines()


#: Answers a HostKeyQuestion: True to trust the key (it is then recorded), False to refuse,
#: None when nobody can be asked (no terminal, no TUI).
AskHostKey = Callable[[HostKeyQuestion], Awaitable[bool | None]]
