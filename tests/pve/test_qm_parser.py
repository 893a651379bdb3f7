"""The qm parser: the chapter's commands parse; anything labguide can't run fails at load time."""

from __future__ import annotations

import shlex

import pytest

from labguide.transports.qm import QmSyntaxError, parse_qm_script

CHAPTER = """\
# node1: create l4lb-2 from the template
qm clone 999 501 --name l4lb-2 --full
qm set 501 --ipconfig0 "ip=198.18.16.134/32,gw=198.18.16.1"

qm start 501
"""


def test_chapter_commands_parse() -> None:
    clone, set_, start = parse_qm_script(CHAPTER)
    assert (clone.subcommand, clone.vmid, clone.newid) == ("clone", 999, 501)
    assert clone.options == (("name", "l4lb-2"), ("full", "1"))
    assert clone.line == 1
    assert set_.api_params() == {"ipconfig0": "ip=198.18.16.134/32,gw=198.18.16.1"}
    assert (start.subcommand, start.vmid, start.line) == ("start", 501, 4)


def test_placeholders_are_left_for_later() -> None:
    [cmd] = parse_qm_script("qm clone ${TEMPLATE_VMID} ${L4LB2_VMID} --name ${L4LB2_NAME} --full")
    assert cmd.args == ("${TEMPLATE_VMID}", "${L4LB2_VMID}")
    assert cmd.has_placeholders
    with pytest.raises(QmSyntaxError):
        _ = cmd.vmid  # not a number until variables are bound


def test_continuation_lines_and_option_forms() -> None:
    cmds = parse_qm_script(
        "qm clone 999 501 \\\n   --name=l4lb-2 \\\n   -full 0\nqm status 501 --verbose")
    assert cmds[0].options == (("name", "l4lb-2"), ("full", "0"))
    assert cmds[0].line == 0
    assert cmds[1].line == 3 and cmds[1].option("verbose") == "1"


@pytest.mark.parametrize("script, line, words", [
    ("qm migrate 501 node2", 0, "qm migrate: subcommand not supported"),
    ("qm start 501\nqm clone 999 501 --pool lab", 1, "option --pool is not supported"),
    ("qm start 50", 0, "VM id"),
    ("qm start", 0, "expects VMID"),
    ("qm set 501", 0, "no options specified"),
    ("qm clone 999 501 --full maybe", 0, "qm clone: expects VMID NEWID"),
    ("qm set 501 --ipconfig0 198.18.16.134/32", 0, "ipconfig0 expects ip="),
    ("qm set 501 --ipconfig0 ip=300.1.1.1/24", 0, "valid ipv4 network configuration"),
    ("qm set 501 --ipconfig1 ip=10.0.0.1/24,gw=10.0.0.256", 0, "valid IPv4 address"),
    ("qm start 0501", 0, "VM id"),
    ("qm set 501 --cores two", 0, "whole number"),
    ("qm clone 999 501 --name l4lb_2", 0, "not a valid DNS name"),
    ("ssh node1 qm start 501", 0, "only qm commands"),
    ("qm start 501 --timeout", 0, "needs a value"),
    ("qm start 'unclosed", 0, "cannot split"),
    ("qm start 501 --timeout 5 --timeout 6", 0, "given twice"),
])
def test_errors_name_the_problem_and_the_line(script: str, line: int, words: str) -> None:
    with pytest.raises(QmSyntaxError) as info:
        parse_qm_script(script)
    assert words in info.value.message
    assert info.value.line_index == line


def test_every_supported_subcommand() -> None:
    script = "\n".join([
        "qm list", "qm status 501", "qm config 501", "qm stop 501", "qm shutdown 501 --timeout 30",
        "qm reboot 501", "qm destroy 501 --purge", "qm start 501",
    ])
    assert [c.subcommand for c in parse_qm_script(script)] == [
        "list", "status", "config", "stop", "shutdown", "reboot", "destroy", "start"]


VALUES = {
    "name": ["l4lb-2", "a.b-c.d9", "l4lb_2", "-x", "a..b", "x\u2028lock: backup", "../x"],
    "ipconfig0": ["ip=198.18.16.134/32,gw=198.18.16.1", "ip=dhcp", "ip=300.1.1.1/24",
                  "ip=10.0.0.1/33", "gw=10.0.0.1,gw=10.0.0.2", "ip=10.0.0.1/24,mtu=9000",
                  "ip6=auto", "ip=10.0.0.1/24\rname: x", "198.18.16.134/32"],
    "tags": ["lab;ha", "x\x85lock: backup", "x\rname: ../x"],
    "description": ["a web backend", "l4lb-2, made by the chapter"],
}


@pytest.mark.parametrize("key", sorted(VALUES))
def test_qm_accepts_what_node1s_api_accepts(key: str) -> None:
    """One set of Proxmox parameter checks (labguide.proxmox_params): a chapter's qm line
    is refused at load time exactly when the API would refuse the value."""
    from labguide.sandbox.pve import params
    from labguide.sandbox.pve.routes_vm import CONFIG_KEYS

    for value in VALUES[key]:
        try:
            parse_qm_script(f"qm set 501 --{key} {shlex.quote(value)}")
            qm_ok = True
        except QmSyntaxError:
            qm_ok = False
        try:
            params.check(CONFIG_KEYS, {key: value})
            api_ok = True
        except params.ApiError:
            api_ok = False
        assert qm_ok == api_ok, (key, value, qm_ok, api_ok)
