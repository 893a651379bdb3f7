"""VmStore: PVE's config format round-trips, files are per VM and never silently overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labguide.sandbox.pve.store import VmStore, format_config, parse_config, vm_config

keys = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True).filter(
    lambda k: k not in ("description", "digest"))
values = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
                 max_size=30).map(str.strip).filter(bool)
descriptions = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(st.dictionaries(keys, values, max_size=8), descriptions)
def test_config_format_round_trips(conf: dict[str, str], description: str) -> None:
    full = dict(conf)
    if description.strip("\n"):
        full["description"] = description
    parsed = parse_config(format_config(full))
    assert {k: v for k, v in parsed.items() if k != "description"} == conf
    if "description" in full:
        assert parsed["description"].rstrip("\n") == full["description"].rstrip("\n")


def test_written_like_pve(tmp_path: Path) -> None:
    store = VmStore(tmp_path)
    store.create(501, {"name": "l4lb-2", "cores": "2", "description": "a: b\nsecond"})
    assert store.raw(501) == "#a%3A b\n#second\ncores: 2\nname: l4lb-2\n"
    assert store.path(501) == tmp_path / "qemu-server" / "501.conf"
    with pytest.raises(FileExistsError, match="config file already exists"):
        store.create(501, {"name": "other"})
    assert VmStore(tmp_path).load(501)["name"] == "l4lb-2"  # a new store sees the same file
    assert store.vmids() == [501]


def test_seed_configs_look_like_cloud_image_vms() -> None:
    template = vm_config(999, "debian12-cloud", template=True)
    vm = vm_config(500, "l4lb-1", ip_cidr="198.18.16.133/32", gateway="198.18.16.1")
    assert template["template"] == "1" and template["scsi0"].startswith("local-lvm:base-999-")
    assert vm["ipconfig0"] == "ip=198.18.16.133/32,gw=198.18.16.1"
    assert vm["net0"] != vm_config(500, "l4lb-1")["net0"]  # every VM gets its own MAC
