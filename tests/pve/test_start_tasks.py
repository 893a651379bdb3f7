"""`lab up` waits on its VMs' start tasks together (labguide.sandbox.node1.wait_tasks), on the
real emulator with its in-memory machines: every task is waited for, a task that failed
names its VM and the emulator's reason, and tasks that outlive the timeout are named too."""

from __future__ import annotations

import pytest
from proxmoxer import ProxmoxAPI

from labguide.errors import LabguideError
from labguide.sandbox.node1 import NODE, wait_tasks
from tests.pve.conftest import Emulator, wait_task


def new_vm(api: ProxmoxAPI, vmid: int) -> None:
    """A stopped clone of the template with an address of its own."""
    assert wait_task(api, api.nodes(NODE).qemu(999).clone.post(newid=vmid))["exitstatus"] == "OK"
    api.nodes(NODE).qemu(vmid).config.put(ipconfig0=f"ip=198.18.16.{vmid - 580}/32,"
                                                    "gw=198.18.16.1")


def start(api: ProxmoxAPI, vmids: list[int]) -> dict[int, str]:
    return {vmid: api.nodes(NODE).qemu(vmid).status.start.post() for vmid in vmids}


def test_every_start_is_waited_for(pve: Emulator) -> None:
    api = pve.api()
    for vmid in (780, 781, 782):
        new_vm(api, vmid)
    wait_tasks(api, start(api, [780, 781, 782]))
    assert [api.nodes(NODE).qemu(v).status.current.get()["status"] for v in (780, 781, 782)] \
        == ["running"] * 3


def test_a_failed_start_names_its_vm_and_the_reason(pve: Emulator) -> None:
    api = pve.api()
    new_vm(api, 783)
    with pytest.raises(LabguideError, match="starting VM 500 through node1 failed: "
                                            "VM 500 already running"):
        wait_tasks(api, start(api, [783, 500]))


def test_tasks_that_outlive_the_timeout_are_named(slow_pve: Emulator) -> None:
    api = slow_pve.api()  # its clones take 30 s: a task that surely runs past the timeout
    upid = api.nodes(NODE).qemu(999).clone.post(newid=784, name="slow", full=1)
    try:
        with pytest.raises(LabguideError, match=r"starting VM\(s\) 784 through node1 did not "
                                                r"end within 1 s"):
            wait_tasks(api, {784: upid}, timeout=1)
    finally:
        api.nodes(NODE).tasks(upid).delete()
        wait_task(api, upid)
