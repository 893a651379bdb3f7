"""Hostile input to the emulator, against the real server: no value may add a line (a key) to a
VM's config file, a VM's name never becomes a path outside its folder, and a malformed or
non-ASCII credential is an ordinary 401 after the usual delay, never a 500."""

from __future__ import annotations

import time

import pytest
import requests
from proxmoxer import ResourceException

from labguide.proxmox_params import has_line_break
from tests.pve.conftest import Emulator, wait_task

#: Every character Python's str.splitlines splits on (the store's old parser did).
BREAKS = [chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) > 1] + ["\r\n"]
AUTH_DELAY = 0.05  # make_emulator's --auth-delay


def _inject(ch: str) -> str:
    return f"x{ch}lock: backup{ch}ipconfig0: ip=203.0.113.5/32{ch}name: ../../../../tmp/lgt"


def _clone(pve: Emulator, newid: int) -> None:
    api = pve.api()
    upid = api.nodes("node1").qemu(999).clone.post(newid=newid, name=f"safe-{newid}")
    assert wait_task(api, upid)["exitstatus"] == "OK"


def test_the_break_list_is_complete() -> None:
    assert len(BREAKS) == 11 and {"\x85", "\u2028", "\u2029", "\r", "\x1e"} <= set(BREAKS)
    assert all(has_line_break(f"a{ch}b") for ch in BREAKS)
    assert not has_line_break("tag1;tag2") and not has_line_break("")


@pytest.mark.parametrize("key", ["tags", "name", "ipconfig0", "nameserver", "sshkeys"])
def test_no_value_can_add_a_line_to_the_config(pve: Emulator, key: str) -> None:
    vmid = 710 + ["tags", "name", "ipconfig0", "nameserver", "sshkeys"].index(key)
    _clone(pve, vmid)
    vm = pve.api().nodes("node1").qemu(vmid)
    conf_file = pve.state / "qemu-server" / f"{vmid}.conf"
    before = conf_file.read_text()
    for ch in BREAKS:
        for call in (vm.config.put, vm.config.post):
            with pytest.raises(ResourceException) as info:
                call(**{key: _inject(ch)})
            assert info.value.status_code == 400, repr(ch)
            assert info.value.errors == {key: "value must not contain a line break"}
    assert conf_file.read_text() == before
    conf = vm.config.get()
    assert "lock" not in conf and conf["name"] == f"safe-{vmid}" and "ipconfig0" not in conf
    with pytest.raises(ResourceException) as info:  # the clone's own parameters too
        pve.api().nodes("node1").qemu(999).clone.post(newid=720, name=_inject("\u2028"))
    assert info.value.status_code == 400 and not (pve.state / "qemu-server/720.conf").exists()


def test_a_description_keeps_its_lines_inside_comments(pve: Emulator) -> None:
    """PVE takes a multi-line description (written as `#` lines, %-encoded): every break
    character stays inside it, and none becomes a key."""
    _clone(pve, 716)
    vm = pve.api().nodes("node1").qemu(716)
    text = "".join(_inject(ch) for ch in BREAKS)
    vm.config.put(description=text)
    conf = vm.config.get()
    assert conf["description"] == text
    assert "lock" not in conf and conf["name"] == "safe-716" and "ipconfig0" not in conf
    raw = (pve.state / "qemu-server/716.conf").read_text()
    assert all(line.startswith("#") or not has_line_break(line) for line in raw.split("\n"))


def test_a_name_that_is_not_a_dns_name_never_reaches_the_machines(pve: Emulator) -> None:
    """A config written before these checks (or by hand) may hold any name: the start
    refuses it instead of handing `../..` to the host (it became paths the sandbox removes)."""
    _clone(pve, 717)
    api = pve.api()
    api.nodes("node1").qemu(717).config.put(ipconfig0="ip=198.18.16.217/32")
    conf_file = pve.state / "qemu-server/717.conf"
    conf_file.write_text(conf_file.read_text().replace("name: safe-717",
                                                       "name: ../../../../tmp/lgt"))
    status = wait_task(api, api.nodes("node1").qemu(717).status.start.post())
    assert "is a DNS name" in status["exitstatus"] and "'../../../../tmp/lgt'" in \
        status["exitstatus"]
    assert api.nodes("node1").qemu(717).status.current.get()["status"] == "stopped"


def _timed(method: str, url: str, **kw: object) -> tuple[requests.Response, float]:
    t0 = time.monotonic()
    resp = requests.request(method, url, timeout=10, **kw)  # type: ignore[arg-type]
    return resp, time.monotonic() - t0


def test_malformed_and_non_ascii_credentials_are_plain_401s(pve: Emulator) -> None:
    url, ca = f"{pve.url}/version", str(pve.ca)
    secret = pve.token_secret
    headers: list[dict[str, str | bytes]] = [
        {"Authorization": f"PVEAPIToken=root@pam!labguide={secret[:-1]}é"},  # latin-1 byte
        {"Authorization": f"PVEAPIToken=root@pam!labguide={secret}ü".encode()},  # UTF-8
        {"Authorization": f"PVEAPIToken=röot@pam!labguide={secret}".encode()},
        {"Authorization": "PVEAPIToken=root@pam!labguide"},  # no secret at all
        {"Authorization": "PVEAPIToken=" + "=" * 5000},
        {"Authorization": "PVEAPIToken \u2028=\u2028".encode()},
    ]
    for h in headers:
        resp, took = _timed("GET", url, headers=h, verify=ca)
        assert (resp.status_code, resp.reason) == (401, "Authentication failed!"), h
        assert took >= AUTH_DELAY
    cookie = {"PVEAuthCookie": "PVE:röot@pam:00000000::abc%C3%A9"}
    resp, took = _timed("GET", url, cookies=cookie, verify=ca)
    assert resp.status_code == 401 and took >= AUTH_DELAY
    ticket, _csrf = pve.ticket_api().get_tokens()
    resp, took = _timed("PUT", f"{pve.url}/nodes/node1/qemu/302/config",
                        data={"description": "x"}, cookies={"PVEAuthCookie": ticket},
                        headers={"CSRFPreventionToken": "00000000:é".encode()}, verify=ca)
    assert (resp.status_code, resp.reason) == (401, "Permission denied - invalid csrf token")
    assert took >= AUTH_DELAY
    resp, took = _timed("POST", f"{pve.url}/access/ticket", verify=ca,
                        data={"username": "root@pam", "password": "pässwörd"})
    assert resp.status_code == 401 and took >= AUTH_DELAY
    resp = requests.post(f"{pve.url}/access/ticket", verify=ca, timeout=10,
                         data={"username": "root@pam", "password": "pass\u2028word"})
    assert resp.status_code == 400  # a parameter like every other: no line breaks
