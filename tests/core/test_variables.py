"""Variable values hold no control characters, from any source (chapter defaults, the
inventory's [vars], --set), unless the chapter declares the variable multi-line; each error
names the file and line or --set. A VIP with a newline once added a `notify_master` line to
the keepalived.conf that labguide writes with sudo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labguide.chapter import Chapter, parse_chapter
from labguide.errors import LabguideError
from labguide.inventory import Inventory, parse_inventory
from labguide.plan import bind, parse_sets

FRONT = '+++\nid = "v"\ntitle = "v"\nhosts = ["a"]\n[vars]\nVIP = "198.18.16.140"\n{extra}+++\n\n'
BODY = ('## Write\n\n```conf {on="a" id="conf" path="/tmp/k.conf"}\nvrrp_instance VI_1 {\n'
        "    virtual_ipaddress {\n        ${VIP}\n    }\n}\n```\n")
INJECTED = '198.18.16.140\n    }\n    notify_master "/usr/bin/touch /tmp/pwned"\n    x {'
BAD = ["a\nb", "a\rb", "a\x00b", "a\tb", "a\x1bb", "a\x7fb", "a\x85b", "a\u2028b", "a\u2029b"]


def chapter(extra: str = "") -> Chapter:
    return parse_chapter(FRONT.format(extra=extra) + BODY, Path("/ch/v.md"))


def inventory(vip: str) -> Inventory:
    return parse_inventory('[hosts.a]\naddress = "198.18.16.2"\n\n[vars]\n'
                           f"VIP = {json.dumps(vip)}\n", Path("/lab/inv.toml"), {})


@pytest.mark.parametrize("value", BAD)
def test_a_control_character_in_a_chapter_default_is_refused_at_its_line(value: str) -> None:
    with pytest.raises(LabguideError) as err:
        parse_chapter(FRONT.format(extra="").replace('"198.18.16.140"', json.dumps(value))
                      + BODY, Path("/ch/v.md"))
    assert str(err.value).startswith("/ch/v.md:6: the default of variable VIP holds a "
                                     "control character"), str(err.value)


@pytest.mark.parametrize("value", [INJECTED, *BAD])
def test_a_control_character_from_the_inventory_is_refused_at_its_line(value: str) -> None:
    with pytest.raises(LabguideError) as err:
        bind(chapter(), inventory(value))
    assert str(err.value).startswith("/lab/inv.toml:5 [vars.VIP]: variable VIP holds a "
                                     "control character"), str(err.value)


@pytest.mark.parametrize("value", [INJECTED, *BAD])
def test_a_control_character_from_set_is_refused(value: str) -> None:
    with pytest.raises(LabguideError) as err:
        bind(chapter(), None, parse_sets([f"VIP={value}"]))
    assert str(err.value).startswith("[--set]: --set VIP: variable VIP holds a control "
                                     "character"), str(err.value)
    assert "multiline = true" in str(err.value)  # says how to allow it


def test_a_variable_declared_multi_line_may_hold_newlines_and_tabs_but_not_nul() -> None:
    extra = '[vars.CERT]\ndefault = "line one\\n\\tline two"\nmultiline = true\n'
    ch = chapter(extra)
    assert ch.vars["CERT"] == "line one\n\tline two" and ch.multiline == {"CERT"}
    assert ch.vars["VIP"] == "198.18.16.140"  # NAME = "value" still works beside it
    bind(ch, None, {"CERT": "a\nb"})
    with pytest.raises(LabguideError, match=r"\[--set\]: --set CERT: .*NUL"):
        bind(ch, None, {"CERT": "a\x00b"})
    with pytest.raises(LabguideError, match="VIP holds a control character"):
        bind(ch, None, {"VIP": "a\nb"})  # only the declared one


@pytest.mark.parametrize("table, message", [
    ('[vars.CERT]\nmultiline = true\n', "takes default (required) and multiline"),
    ('[vars.CERT]\ndefault = "x"\nmultiline = "yes"\n', "multiline must be true or false"),
    ('[vars.CERT]\ndefault = "x"\nsecret = true\n', "not secret"),
    ('[vars.CERT]\ndefault = "a\\nb"\n', "CERT holds a control character"),
])
def test_a_bad_variable_table_is_a_located_error(table: str, message: str) -> None:
    with pytest.raises(LabguideError) as err:
        chapter(table)
    assert str(err.value).startswith("/ch/v.md:7: ") and message in str(err.value), str(err.value)


@pytest.mark.parametrize("path, sets", [("~/k.conf", {}), ("~root/k.conf", {}),
                                        ("${DIR}/k.conf", {"DIR": "~"}),
                                        ("${DIR}/k.conf", {"DIR": "relative"})])
def test_a_path_must_be_absolute_once_bound(path: str, sets: dict[str, str]) -> None:
    """path="~/…" wrote to a literal ./~/ folder in the login directory: refused instead."""
    ch = parse_chapter(FRONT.format(extra='DIR = "/etc"\n')
                       + BODY.replace("/tmp/k.conf", path), Path("/ch/v.md"))
    with pytest.raises(LabguideError) as err:
        bind(ch, None, sets)
    assert str(err.value).startswith("/ch/v.md:12: step conf: path= must be absolute"), str(
        err.value)
    if "${DIR}" in path:  # an absolute value is fine
        assert bind(ch, None, {"DIR": "/etc"}).bound("conf").path == "/etc/k.conf"
