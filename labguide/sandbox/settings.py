"""The lab's settings, chosen at `lab up` and recorded in its state (`lab.json`) so that every
later step (node1's clones, `lab status`) follows the same choice until `lab down`.

Today one setting: how guests get SSH host keys. Reading and recording only; what a mode
does lives in sshkeys.py, supervisor.py and lab.py.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Literal

from labguide.errors import LabguideError, Location
from labguide.sandbox.paths import LabPaths

HostKeys = Literal["ca", "strict"]
HOST_KEY_MODES: tuple[HostKeys, ...] = ("ca", "strict")
#: `strict`, as in a real lab: each guest makes its keys at its first boot, a clone is known
#: to nobody and the reader confirms its key (labguide asks; so does OpenSSH on client).
#: `ca` (one host CA that every known_hosts trusts) is an explicit opt-in no chapter test uses.
DEFAULT_HOST_KEYS: HostKeys = "strict"
HOST_KEYS_ENV = "LABGUIDE_HOST_KEYS"


@dataclass(frozen=True)
class LabSettings:
    host_keys: HostKeys = DEFAULT_HOST_KEYS


def _host_keys(value: str, where: Location) -> HostKeys:
    if value not in HOST_KEY_MODES:
        raise LabguideError(f"host keys must be one of {', '.join(HOST_KEY_MODES)}, "
                            f"not {value!r}", where)
    return value


def recorded(paths: LabPaths) -> LabSettings | None:
    """The settings `lab up` recorded, or None when no lab has been made."""
    try:
        data = json.loads(paths.settings.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabguideError(f"cannot read the lab's settings: {exc}",
                            Location(file=paths.settings),
                            hint="`labguide lab down` removes the lab and its settings") from None
    return LabSettings(host_keys=_host_keys(str(data.get("host_keys")),
                                            Location(file=paths.settings, key="host_keys")))


def current(paths: LabPaths) -> LabSettings:
    """What the lab runs with: as recorded, else the defaults."""
    return recorded(paths) or LabSettings()


def choose(paths: LabPaths, host_keys: str | None) -> LabSettings:
    """The settings for `lab up`: the option, else $LABGUIDE_HOST_KEYS, else what the lab
    already has, else the defaults. Asking a made lab for another mode is an error."""
    have = recorded(paths)
    asked: HostKeys | None = None
    if host_keys is not None:
        asked = _host_keys(host_keys, Location(key="--host-keys"))
    elif os.environ.get(HOST_KEYS_ENV):
        asked = _host_keys(os.environ[HOST_KEYS_ENV], Location(key=HOST_KEYS_ENV))
    if have is not None and asked is not None and asked != have.host_keys:
        raise LabguideError(
            f"the lab was made with host keys {have.host_keys!r}, not {asked!r}",
            Location(file=paths.settings, key="host_keys"),
            hint=f"take it down first: labguide lab down && labguide lab up --host-keys {asked}",
        )
    return have or LabSettings(host_keys=asked or DEFAULT_HOST_KEYS)


def record(paths: LabPaths, settings: LabSettings) -> None:
    paths.settings.parent.mkdir(parents=True, exist_ok=True)
    tmp = paths.settings.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings)) + "\n")
    tmp.rename(paths.settings)
