"""Fixtures for the sandbox lab's tests: they need root, systemd-nspawn and mmdebstrap.

`sandbox_base` makes the cached images, the lab's keys and the bridge (removing the bridge at
the end only if it made it); `lab` brings the whole lab up if it is not up (the session takes
it down at its end: tests/conftest.py). Both are session-scoped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_helpers import Base

from labguide.sandbox import firewall, network, sshkeys
from labguide.sandbox.image import ensure_images
from labguide.sandbox.labfile import default_lab
from labguide.sandbox.paths import LabPaths
from tests.conftest import lab_up, sandbox_missing


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run `up`'s output test, the crash test and the strict host key tests first: they
    take the lab down and up their own way, and the `lab` fixture keeps it up."""
    first = [i for f in ("tests/sandbox/test_up_output.py", "tests/sandbox/test_crash.py",
                         "tests/sandbox/test_host_keys.py")
             for i in items if i.nodeid.startswith(f)]
    if first:
        items[:] = first + [i for i in items if i not in first]


@pytest.fixture(scope="session")
def sandbox_base() -> Iterator[Base]:
    why = sandbox_missing()
    if why:
        pytest.skip(why)
    paths = LabPaths.default()
    output: list[str] = []

    def say(line: str) -> None:
        output.append(line)
        print(f"[sandbox] {line}")

    built = ensure_images(paths, say, default_lab())
    sshkeys.ensure_lab_keys(paths)
    made_bridge = network.bridge_is_ours() is None
    if made_bridge:
        network.check_addresses_free()
        network.ensure_bridge(paths.bridge_record)
    made_firewall = firewall.table_is_ours() is None
    if made_firewall:
        firewall.install(paths.firewall_record)
    yield Base(paths, tuple(output) if built else ())
    from labguide.sandbox.machines import NspawnMachines

    if not NspawnMachines(paths).running_vmids():
        if made_firewall:
            firewall.remove(paths.firewall_record)
        if made_bridge:
            network.delete_bridge()
            paths.bridge_record.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def lab(sandbox_base: Base) -> LabPaths:
    """The lab, up (brought up if it is not; the session takes it down at its end)."""
    lab_up()
    return sandbox_base.paths
