"""The emulator answers like a Proxmox VE 8 node, checked with proxmoxer (the real client).

Each test names the behaviour of design.md §7 it covers. Tests that change VMs use their own
VM ids, so they share one emulator process.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests
from proxmoxer import ProxmoxAPI, ResourceException
from proxmoxer.core import AuthenticationError
from proxmoxer.tools import Tasks

from labguide.sandbox.pve.store import VmStore
from labguide.sandbox.pve.tls import ensure_certs
from tests.pve.conftest import Emulator, make_emulator, wait_task

UPID = re.compile(r"^UPID:node1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:(\w+):(\d*):"
                  r"root@pam!labguide:$")


def raw(pve: Emulator, method: str, path: str, **kw: object) -> requests.Response:
    """A plain HTTPS request, to look at status line and body as they are on the wire."""
    headers = {"Authorization": f"PVEAPIToken=root@pam!labguide={pve.token_secret}"}
    return requests.request(method, f"{pve.url}{path}", headers=headers, verify=str(pve.ca),
                            timeout=10, **kw)  # type: ignore[arg-type]


def clone(pve: Emulator, newid: int, **kw: object) -> str:
    upid = pve.api().nodes("node1").qemu(999).clone.post(newid=newid, **kw)
    assert wait_task(pve.api(), upid)["exitstatus"] == "OK"
    return str(upid)


def set_ip(pve: Emulator, vmid: int, last_octet: int) -> None:
    pve.api().nodes("node1").qemu(vmid).config.put(
        ipconfig0=f"ip=198.18.16.{last_octet}/32,gw=198.18.16.1")


def power(pve: Emulator, vmid: int, action: str, **kw: object) -> dict[str, object]:
    api = pve.api()
    upid = getattr(api.nodes("node1").qemu(vmid).status, action).post(**kw)
    return wait_task(api, upid)


# -- envelope, errors, auth -------------------------------------------------------------------
def test_envelope_is_data(pve: Emulator) -> None:
    resp = raw(pve, "GET", "/version")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"data"} and body["data"]["release"].startswith("8.")
    assert pve.api().version.get() == body["data"]


def test_unknown_path_is_501(pve: Emulator) -> None:
    with pytest.raises(ResourceException) as info:
        pve.api().nodes("node1").bogus.get()
    assert info.value.status_code == 501
    assert info.value.content == "Method 'GET /nodes/node1/bogus' not implemented"
    resp = raw(pve, "PUT", "/version")
    assert (resp.status_code, resp.reason) == (501, "Method 'PUT /version' not implemented")
    assert resp.json() == {"data": None, "message": "Method 'PUT /version' not implemented"}


def test_error_body_and_reason_phrase(pve: Emulator) -> None:
    resp = raw(pve, "GET", "/nodes/node1/qemu/777/config")
    assert resp.status_code == 500
    assert resp.reason == "Configuration file 'nodes/node1/qemu-server/777.conf' does not exist"
    assert resp.json() == {"data": None, "message": resp.reason + "\n"}


def test_bad_token_is_401(pve: Emulator) -> None:
    with pytest.raises(ResourceException) as info:
        pve.api(token_value="00000000-0000-0000-0000-000000000000").version.get()
    assert (info.value.status_code, info.value.content) == (401, "Authentication failed!")
    with pytest.raises(ResourceException) as info:
        pve.api(token_name="other").version.get()
    assert info.value.status_code == 401


def test_no_credentials_is_401_even_for_unknown_paths(pve: Emulator) -> None:
    for path in ("/version", "/nodes/node1/bogus"):
        resp = requests.get(f"{pve.url}{path}", verify=str(pve.ca), timeout=10)
        assert (resp.status_code, resp.reason) == (401, "No ticket")


def test_ticket_login_reads_and_writes_with_csrf(pve: Emulator) -> None:
    api = pve.ticket_api()
    ticket, csrf = api.get_tokens()
    assert re.match(r"^PVE:root@pam:[0-9A-F]{8}::", ticket)
    assert re.match(r"^[0-9A-F]{8}:\S+$", csrf)
    assert {vm["vmid"] for vm in api.nodes("node1").qemu.get()} >= {100, 500, 999}
    api.nodes("node1").qemu(302).config.put(description="web backend 2")
    assert api.nodes("node1").qemu(302).config.get()["description"] == "web backend 2"


def test_write_with_ticket_but_no_csrf_is_401(pve: Emulator) -> None:
    ticket, _csrf = pve.ticket_api().get_tokens()
    cookies = {"PVEAuthCookie": ticket}
    url = f"{pve.url}/nodes/node1/qemu/302/config"
    read = requests.get(url, cookies=cookies, verify=str(pve.ca), timeout=10)
    assert read.status_code == 200  # GET needs no CSRF token
    for headers in ({}, {"CSRFPreventionToken": "00000000:forged"}):
        write = requests.put(url, data={"description": "x"}, cookies=cookies, headers=headers,
                             verify=str(pve.ca), timeout=10)
        assert (write.status_code, write.reason) == (401, "Permission denied - invalid csrf token")


def test_wrong_password_is_refused(pve: Emulator) -> None:
    with pytest.raises(AuthenticationError):
        ProxmoxAPI("127.0.0.1", port=pve.port, user="root@pam", password="wrong",
                   verify_ssl=str(pve.ca), timeout=10)


def test_tls_only_and_cert_matches_ca(pve: Emulator) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{pve.port}/api2/json/version", timeout=5)
    other_ca, _, _ = ensure_certs(Path(pve.ready["ca"]).parent / "other-ca", "127.0.0.1")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{pve.url}/version", verify=str(other_ca), timeout=5)


# -- parameters -------------------------------------------------------------------------------
def test_booleans_are_1_or_0_and_full_true_is_400(pve: Emulator) -> None:
    with pytest.raises(ResourceException) as info:
        pve.api().nodes("node1").qemu(999).clone.post(newid=610, full=True)
    assert info.value.status_code == 400
    assert info.value.content == "Parameter verification failed."
    assert info.value.errors == {"full": "type check ('boolean') failed - got 'True'"}
    assert not (pve.state / "qemu-server" / "610.conf").exists()


def test_unknown_and_missing_parameters_are_400(pve: Emulator) -> None:
    with pytest.raises(ResourceException) as info:
        pve.api().nodes("node1").qemu(999).clone.post(newid=611, colour="blue")
    assert info.value.errors == {"colour": "property is not defined in schema and the schema "
                                           "does not allow additional properties"}
    with pytest.raises(ResourceException) as info:
        pve.api().nodes("node1").qemu(999).clone.post(name="x")
    assert info.value.errors == {"newid": "property is missing and it is not optional"}
    with pytest.raises(ResourceException) as info:
        pve.api().nodes("node1").qemu(302).config.put(ipconfig0="198.18.16.200/32")
    assert info.value.status_code == 400 and "ipconfig0" in info.value.errors


# -- clone ------------------------------------------------------------------------------------
def test_clone_locks_target_runs_a_task_and_copies_the_config(pve: Emulator) -> None:
    api = pve.api()
    vm = api.nodes("node1").qemu
    upid = vm(999).clone.post(newid=620, name="clone-620", full=1)
    m = UPID.match(upid)
    assert m and m.groups() == ("qmclone", "999")
    assert Tasks.decode_upid(upid)["node"] == "node1"
    assert vm(620).config.get()["lock"] == "clone"  # locked while the task runs
    assert vm(620).status.current.get()["lock"] == "clone"
    # a config change meanwhile waits for the clone's file lock, then applies
    vm(620).config.put(ipconfig0="ip=198.18.16.220/32,gw=198.18.16.1")
    assert api.nodes("node1").tasks(upid).status.get()["status"] == "stopped"
    status = wait_task(api, upid)
    assert status["exitstatus"] == "OK" and status["type"] == "qmclone"
    assert status["user"] == "root@pam" and status["tokenid"] == "labguide"
    new, template = vm(620).config.get(), vm(999).config.get()
    assert "lock" not in new and "template" not in new and new["name"] == "clone-620"
    assert new["scsi0"].startswith("local-lvm:vm-620-disk-0,")
    assert new["net0"] != template["net0"] and new["smbios1"] != template["smbios1"]
    assert "lock" not in template
    log = api.nodes("node1").tasks(upid).log.get(limit=0)
    text = [line["t"] for line in log]
    assert "create full clone of drive scsi0 (local-lvm:base-999-disk-0)" in text
    assert text[-1] == "TASK OK" and [line["n"] for line in log] == list(range(1, len(log) + 1))


def test_linked_clone_is_the_default_for_a_template(pve: Emulator) -> None:
    clone(pve, 621, name="linked")
    assert pve.api().nodes("node1").qemu(621).config.get()["scsi0"].startswith(
        "local-lvm:base-999-disk-0/vm-621-disk-0,")


def test_clone_onto_an_existing_id_fails_at_once(pve: Emulator) -> None:
    with pytest.raises(ResourceException) as info:
        pve.api().nodes("node1").qemu(999).clone.post(newid=500, name="dup", full=1)
    assert info.value.status_code == 500
    assert info.value.content == "unable to create VM 500: config file already exists"
    assert pve.api().nodes("node1").qemu(500).config.get()["name"] == "l4lb-1"


# -- config: sync PUT, async POST -------------------------------------------------------------
def test_put_config_is_synchronous(pve: Emulator) -> None:
    clone(pve, 630, name="sync-put")
    vm = pve.api().nodes("node1").qemu(630)
    before = vm.config.get()["digest"]
    assert vm.config.put(ipconfig0="ip=198.18.16.230/32,gw=198.18.16.1", cores=4) is None
    after = vm.config.get()
    assert after["ipconfig0"] == "ip=198.18.16.230/32,gw=198.18.16.1" and after["cores"] == 4
    with pytest.raises(ResourceException) as info:
        vm.config.put(memory=4096, digest=before)
    assert "detected modified configuration" in info.value.content


def test_post_config_is_a_task(pve: Emulator) -> None:
    clone(pve, 631, name="async-post")
    api = pve.api()
    upid = api.nodes("node1").qemu(631).config.post(memory="4096", onboot=1)
    assert UPID.match(upid).groups() == ("qmconfig", "631")  # type: ignore[union-attr]
    assert wait_task(api, upid)["exitstatus"] == "OK"
    log = [entry["t"] for entry in api.nodes("node1").tasks(upid).log.get()]
    assert log == ["update VM 631: -memory 4096 -onboot 1", "TASK OK"]
    assert api.nodes("node1").qemu(631).config.get()["memory"] == "4096"


# -- power tasks ------------------------------------------------------------------------------
def test_start_of_a_template_fails_in_the_task(pve: Emulator) -> None:
    status = power(pve, 999, "start")
    assert status["exitstatus"] == "you can't start a vm if it's a template"
    log = pve.api().nodes("node1").tasks(status["upid"]).log.get()
    assert log[-1]["t"] == "TASK ERROR: you can't start a vm if it's a template"


def test_start_of_a_running_vm_fails_in_the_task(pve: Emulator) -> None:
    assert power(pve, 500, "start")["exitstatus"] == "VM 500 already running"


def test_a_locked_vm_refuses_changes_and_start(pve: Emulator) -> None:
    clone(pve, 622, name="stale-lock")
    set_ip(pve, 622, 222)
    store = VmStore(pve.state)
    store.write(622, {**store.load(622), "lock": "backup"})  # as a crashed backup leaves it
    assert power(pve, 622, "start")["exitstatus"] == "VM 622 is locked (backup)"
    with pytest.raises(ResourceException) as info:
        pve.api().nodes("node1").qemu(622).config.put(cores=1)
    assert (info.value.status_code, info.value.content) == (500, "VM 622 is locked (backup)")


def test_start_status_shutdown_stop_reboot(pve: Emulator) -> None:
    clone(pve, 640, name="power")
    set_ip(pve, 640, 240)
    vm = pve.api().nodes("node1").qemu(640)
    assert vm.status.current.get()["status"] == "stopped"
    with pytest.raises(ResourceException) as info:
        vm.status.reboot.post()
    assert info.value.content == "VM 640 not running"
    assert power(pve, 640, "start")["exitstatus"] == "OK"
    current = vm.status.current.get()
    assert (current["status"], current["qmpstatus"], current["name"]) == ("running", "running",
                                                                          "power")
    assert current["maxmem"] == 2048 * 1024 * 1024 and current["ha"] == {"managed": 0}
    assert power(pve, 640, "reboot")["exitstatus"] == "OK"
    assert vm.status.current.get()["status"] == "running"
    assert power(pve, 640, "shutdown", timeout=30)["exitstatus"] == "OK"
    assert vm.status.current.get()["status"] == "stopped"
    assert power(pve, 640, "stop")["exitstatus"] == "OK"  # stopping a stopped VM is fine


def test_start_needs_a_static_address_in_the_sandbox(pve: Emulator) -> None:
    clone(pve, 641, name="no-ip")
    status = power(pve, 641, "start")
    assert "needs a static address in ipconfig0" in str(status["exitstatus"])


def test_destroy(pve: Emulator) -> None:
    clone(pve, 650, name="doomed")
    set_ip(pve, 650, 250)
    power(pve, 650, "start")
    api = pve.api()
    with pytest.raises(ResourceException) as info:
        api.nodes("node1").qemu(650).delete()
    assert info.value.content == "VM 650 is running - destroy failed"
    power(pve, 650, "stop")
    upid = api.nodes("node1").qemu(650).delete(purge=1)
    assert wait_task(api, upid)["exitstatus"] == "OK"
    log = [e["t"] for e in api.nodes("node1").tasks(upid).log.get()]
    assert '  Logical volume "vm-650-disk-0" successfully removed.' in log
    assert 650 not in {vm["vmid"] for vm in api.nodes("node1").qemu.get()}


# -- tasks ------------------------------------------------------------------------------------
def test_task_status_and_log_paging(pve: Emulator) -> None:
    upid = clone(pve, 660, name="paging", full=1)
    api = pve.api()
    status = api.nodes("node1").tasks(upid).status.get()
    assert status["status"] == "stopped" and status["upid"] == upid
    decoded = Tasks.decode_upid(upid)
    assert (status["pid"], status["pstart"], status["starttime"]) == (
        decoded["pid"], decoded["pstart"], decoded["starttime"])
    resp = raw(pve, "GET", f"/nodes/node1/tasks/{upid}/log", params={"start": 2, "limit": 3})
    body = resp.json()
    assert [e["n"] for e in body["data"]] == [3, 4, 5]
    assert body["total"] == len(api.nodes("node1").tasks(upid).log.get(limit=0))
    listed = api.nodes("node1").tasks.get(vmid=999)
    assert any(t["upid"] == upid and t["status"] == "OK" for t in listed)


def test_a_stopped_task_says_so(slow_pve: Emulator) -> None:
    pve = slow_pve
    api = pve.api()
    upid = api.nodes("node1").qemu(999).clone.post(newid=661, name="interrupted", full=1)
    assert api.nodes("node1").tasks(upid).status.get()["status"] == "running"
    api.nodes("node1").tasks(upid).delete()
    status = wait_task(api, upid)
    assert status["exitstatus"] == "interrupted by signal"
    assert not (pve.state / "qemu-server" / "661.conf").exists()


# -- cluster views ------------------------------------------------------------------------------
def test_initial_inventory_is_the_labs(pve: Emulator) -> None:
    vms = {r["vmid"]: r for r in pve.api().cluster.resources.get(type="vm")}
    assert vms[999]["template"] == 1 and vms[999]["status"] == "stopped"
    for vmid, name in ((100, "client"), (301, "web-1"), (302, "web-2"), (500, "l4lb-1")):
        assert (vms[vmid]["name"], vms[vmid]["status"], vms[vmid]["id"]) == (
            name, "running", f"qemu/{vmid}")
    kinds = {r["type"] for r in pve.api().cluster.resources.get()}
    assert kinds == {"node", "storage", "qemu"}


def test_nextid(pve: Emulator) -> None:
    assert pve.api().cluster.nextid.get() == "101"  # a string, as PVE sends it
    assert pve.api().cluster.nextid.get(vmid=777) == "777"
    with pytest.raises(ResourceException) as info:
        pve.api().cluster.nextid.get(vmid=500)
    assert info.value.status_code == 400 and info.value.errors == {"vmid": "VM 500 already exists"}


def test_guest_agent_answers_only_once_the_guest_is_up(pve: Emulator) -> None:
    clone(pve, 670, name="agent")
    set_ip(pve, 670, 170)
    agent = pve.api().nodes("node1").qemu(670).agent("network-get-interfaces")
    with pytest.raises(ResourceException) as info:
        agent.get()
    assert info.value.content == "VM 670 is not running"
    power(pve, 670, "start")
    with pytest.raises(ResourceException) as info:
        agent.get()  # the memory backend's guest takes 1 s to boot
    assert info.value.content == "QEMU guest agent is not running"
    deadline = time.monotonic() + 15
    while True:
        try:
            answer = agent.get()
            break
        except ResourceException:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    eth0 = next(i for i in answer["result"] if i["name"] == "eth0")
    assert eth0["ip-addresses"][0] == {"ip-address-type": "ipv4", "ip-address": "198.18.16.170",
                                       "prefix": 32}


def test_wrong_node_name(pve: Emulator) -> None:
    with pytest.raises(ResourceException) as info:
        pve.api().nodes("node9").qemu.get()
    assert info.value.status_code == 500 and "node9" in info.value.content


# -- persistence --------------------------------------------------------------------------------
def test_state_survives_a_restart(tmp_path: Path) -> None:
    emu = make_emulator(tmp_path)
    try:
        api = emu.api()
        upid = api.nodes("node1").qemu(999).clone.post(newid=501, name="l4lb-2", full=1)
        wait_task(api, upid)
        api.nodes("node1").qemu(501).config.put(ipconfig0="ip=198.18.16.134/32,gw=198.18.16.1")
        before = api.nodes("node1").qemu(501).config.get()
        raw_file = (tmp_path / "qemu-server" / "501.conf").read_text()
        assert "ipconfig0: ip=198.18.16.134/32,gw=198.18.16.1\n" in raw_file
        token = emu.token_secret
        emu.stop()
        emu.start()
        assert emu.token_secret == token  # credentials and CA are kept too
        after = emu.api().nodes("node1").qemu(501).config.get()
        assert after == before
        # the memory backend forgets its machines: the emulator reconciles to "stopped"
        assert emu.api().nodes("node1").qemu(500).status.current.get()["status"] == "stopped"
    finally:
        emu.stop()


def test_a_multi_line_error_keeps_a_one_line_exit_status() -> None:
    import asyncio

    from labguide.sandbox.pve.auth import Identity
    from labguide.sandbox.pve.tasks import TaskError, TaskManager

    async def scenario() -> tuple[str | None, list[str]]:
        async def body(task: object) -> None:
            raise TaskError("VM 501 did not boot\n  hint: console says\nline two")

        task = TaskManager("node1").start("qmstart", "501", Identity("root@pam"), body)
        await task.done.wait()
        return task.exitstatus, task.lines

    status, lines = asyncio.run(scenario())
    assert status == "VM 501 did not boot"
    assert lines == ["  hint: console says", "line two", "TASK ERROR: VM 501 did not boot"]
