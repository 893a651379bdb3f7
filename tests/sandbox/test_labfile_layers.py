"""The bundled lab file builds the role layers the constants built: each layer of l4lb-ha,
built now from chapters/l4lb-ha.lab.toml into a cache of the test's own (over the cached base
and repository), holds the same files with the same modes, owners and contents as the
cached layer the lab runs on (built before lab files). Needs root, systemd-nspawn and the
cached base; touches no VM, bridge or namespace."""

from __future__ import annotations

import hashlib
import os
import stat
from functools import partial
from pathlib import Path

import pytest
from sandbox_helpers import Base

from labguide.sandbox.image import build_layer, together
from labguide.sandbox.labfile import default_lab
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.progress import as_reporter
from labguide.sandbox.ready import is_ready

pytestmark = pytest.mark.sandbox

#: What differs between two builds of one recipe: logs, caches and dpkg's timestamps.
VOLATILE = ("var/log/", "var/cache/", "var/lib/dpkg/status-old", "var/lib/dpkg/info/",
            "var/lib/apt/", "etc/ld.so.cache", "var/lib/systemd/deb-systemd-helper-enabled/",
            "var/lib/dpkg/triggers/")


def tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under `root`: type, mode, owner and content (or link target)."""
    out: dict[str, tuple[object, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            p = Path(folder) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                what: object = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                what = None
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                        st.st_gid, what)
    return out


def test_the_lab_file_builds_the_layers_of_before(sandbox_base: Base, tmp_path: Path) -> None:
    shared = sandbox_base.paths
    lab = default_lab()
    before = {r: shared.layer(lab.layer_key(r)) for r in lab.used_roles}
    if not all(is_ready(p) for p in before.values()):
        pytest.skip("the cached layers are missing")
    mine = LabPaths.default(tmp_path)
    mine.cache.mkdir(parents=True)
    (mine.cache / "base").symlink_to(shared.base_image)
    (mine.cache / "repo").symlink_to(shared.repo)
    (mine.cache / "layers").mkdir()
    rep = as_reporter(lambda _: None)
    together(*(partial(build_layer, mine, lab.roles[r], lab.layer_key(r), rep)
               for r in lab.used_roles))
    for role, old in before.items():
        a, b = tree(old), tree(mine.layer(lab.layer_key(role)))
        diffs = sorted(k for k in a.keys() | b.keys()
                       if a.get(k) != b.get(k) and not k.startswith(VOLATILE))
        assert diffs == [], (role, [(k, a.get(k), b.get(k)) for k in diffs[:10]])
        assert len(a) > 1 and a.keys() - b.keys() <= {k for k in a if k.startswith(VOLATILE)}
