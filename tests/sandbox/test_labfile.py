"""Lab files: the bundled l4lb-ha lab is exactly the lab the sandbox built from constants
before lab files (VMs, addresses, template, packages, files, services, inventory); bad lab
files are located errors (file, line, key); which lab file a chapter has; one lab at a time.
No lab is brought up here (the layers' own proof is test_labfile_layers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labguide.errors import LabguideError
from labguide.sandbox import lab as lab_mod
from labguide.sandbox.image import fill_layer
from labguide.sandbox.inventory_file import ProxmoxAccess, inventory_text
from labguide.sandbox.labfile import (
    current_lab,
    default_lab,
    lab_file_of,
    load_lab,
    parse_lab,
    record_lab,
)
from labguide.sandbox.labspec import GuestFile, RoleSpec
from labguide.sandbox.paths import LabPaths

HERE = Path(__file__).parent
BUNDLED = Path(__file__).parents[2] / "chapters" / "l4lb-ha.lab.toml"

# -- the sandbox's values before lab files (labguide/sandbox/topology.py and image.py) ------
START_VMS = [(100, "client", "198.18.16.10", "client"), (301, "web-1", "198.18.16.151", "web"),
             (302, "web-2", "198.18.16.152", "web"), (500, "l4lb-1", "198.18.16.133", "lb")]
L4LB2 = (501, "l4lb-2", "198.18.16.134")
REPO_PACKAGES = ("haproxy", "keepalived", "nginx-light")
ROLES = ("web", "lb", "client")
NGINX_SITE = """\
# labguide sandbox web backend: GET /hostname answers with this host's name.
server {
    listen 80 default_server;
    access_log off;
    location = /hostname {
        default_type text/plain;
        return 200 "$hostname\\n";
    }
    location / {
        default_type text/plain;
        return 200 "$hostname\\n";
    }
}
"""
HAPROXY_CFG = """\
global
    log /dev/log local0
    user haproxy
    group haproxy
    daemon

defaults
    log global
    mode tcp
    option tcplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend l4_front
    bind *:80
    default_backend web_backends

backend web_backends
    balance roundrobin
    server web-1 198.18.16.151:80 check inter 2s fall 2 rise 2
    server web-2 198.18.16.152:80 check inter 2s fall 2 rise 2
"""
SYSCTL_LB = "net.ipv4.ip_nonlocal_bind = 1\n"


def test_the_bundled_lab_is_the_lab_of_before() -> None:
    lab = default_lab()
    assert lab.id == "l4lb-ha" and lab.path.resolve() == BUNDLED.resolve()
    assert (lab.template_vmid, lab.template_name) == (999, "ubuntu-template")
    assert [(v.vmid, v.name, v.ip, v.role) for v in lab.vms] == START_VMS
    assert [(v.vmid, v.name, v.ip) for v in lab.created] == [L4LB2]
    assert lab.host_addresses == {**{n: ip for _, n, ip, _ in START_VMS}, "l4lb-2": L4LB2[2]}
    assert lab.repo_packages == REPO_PACKAGES
    assert lab.used_roles == ROLES
    assert [lab.layer_key(r) for r in ROLES] == list(ROLES)  # the cache's layers of before
    assert lab.roles["web"] == RoleSpec(
        "web", ("nginx-light",), (GuestFile("/etc/nginx/sites-available/default", NGINX_SITE),),
        ("nginx",), http=True)
    assert lab.roles["lb"] == RoleSpec(
        "lb", ("haproxy",), (GuestFile("/etc/haproxy/haproxy.cfg", HAPROXY_CFG),
                             GuestFile("/etc/sysctl.d/60-labguide-lb.conf", SYSCTL_LB)),
        ("haproxy",), http=True)
    assert lab.roles["client"] == RoleSpec(
        "client", tools=("k6",), lab_key=True, home_dirs=("intro-for-high-availability/k6",))
    assert lab.vms[0].ipconfig0 == "ip=198.18.16.10/32,gw=198.18.16.1"


def test_the_inventory_is_the_inventory_of_before(tmp_path: Path) -> None:
    paths = LabPaths.default("/tmp/x")
    prox = ProxmoxAccess("u", paths.pve_state / "ca.pem", "tok", paths.pve_state / "secret")
    expected = (HERE / "data" / "inventory-l4lb-ha.toml").read_text()
    assert inventory_text(paths, prox, "LABID", default_lab()) == expected


def test_a_roles_files_and_tools_are_written_into_its_layer(tmp_path: Path) -> None:
    """fill_layer for a role without packages or services (those need the base image: the
    sandbox test builds them): files with their modes, parents made, k6 copied."""
    role = RoleSpec("tools", files=(GuestFile("/etc/demo/a.conf", "a = 1\n", 0o600),
                                    GuestFile("/usr/local/share/b.txt", "b\n")), tools=("k6",))
    fill_layer(tmp_path, role, LabPaths.default(tmp_path / "root"))
    assert (tmp_path / "etc/demo/a.conf").read_text() == "a = 1\n"
    assert (tmp_path / "etc/demo/a.conf").stat().st_mode & 0o7777 == 0o600
    assert (tmp_path / "usr/local/share/b.txt").stat().st_mode & 0o7777 == 0o644
    k6 = tmp_path / "usr/local/bin/k6"
    assert k6.stat().st_mode & 0o777 == 0o755 and os.access(k6, os.X_OK)


BAD = [  # (change to the bundled file, line of, key, message)
    (("vmid = 302", "vmid = 301"), 'vmid = 301\nname = "web-2"', "vms[2].vmid",
     "vmid 301 is also web-1's"),
    (('address = "198.18.16.152"', 'address = "192.168.16.152"'), '"192.168.16.152"',
     "vms[2].address",
     "must be an address of the sandbox's network 198.18.16.0/24"),
    (('address = "198.18.16.133"', 'address = "198.18.16.1"'), 'address = "198.18.16.1"',
     "vms[3].address", "not the bridge"),
    (('role = "lb"', 'role = "db"'), 'role = "db"', "vms[3].role", "role 'db' is not a role"),
    (('name = "web-2"', 'name = "web_2!"'), 'name = "web_2!"', "vms[2].name", "DNS name"),
    (("vmid = 500", "vmid = 999"), "vmid = 999\nname = \"l4lb-1\"", "vms[3].vmid",
     "vmid 999 is the template's"),
    (("vmid = 501", "vmid = 5"), "vmid = 5\n", "created[0].vmid", "Proxmox VM id"),
    (("[offline]", "[offline]\nfoo = 1"), "foo = 1", "offline.foo", "unknown key 'foo'"),
    (('tools = ["k6"]', 'tools = ["wrk"]'), 'tools = ["wrk"]', "roles.client.tools",
     "unknown tool 'wrk'"),
    (('path = "/etc/haproxy/haproxy.cfg"', 'path = "etc/haproxy.cfg"'),
     'path = "etc/haproxy.cfg"', "roles.lb.files[0].path", "absolute path"),
    (('packages = ["haproxy"]', 'packages = ["HAProxy!"]'), 'packages = ["HAProxy!"]',
     "roles.lb.packages", "Debian package names"),
    (("http = true\n\n[[roles.lb", 'http = "yes"\n\n[[roles.lb'), 'http = "yes"',
     "roles.lb.http", "true or false"),
    (('text = \'\'\'\nnet.ipv4', "mode = \"777x\"\ntext = '''\nnet.ipv4"), 'mode = "777x"',
     "roles.lb.files[1].mode", "octal"),
    (("TEMPLATE_VMID = 999", "TEMPLATE_VMID = 9.5"), "TEMPLATE_VMID = 9.5",
     "vars.TEMPLATE_VMID", "a string or an integer"),
    (("[template]", "[templates]"), "[templates]", "templates", "unknown key 'templates'"),
]


@pytest.mark.parametrize(("change", "at", "key", "message"), BAD, ids=[b[2] for b in BAD])
def test_a_bad_lab_file_names_its_line_and_key(tmp_path: Path, change: tuple[str, str],
                                              at: str, key: str, message: str) -> None:
    good = BUNDLED.read_text()
    assert good.count(change[0]) == 1, change
    text = good.replace(*change)
    path = tmp_path / "bad.lab.toml"
    path.write_text(text)
    with pytest.raises(LabguideError) as err:
        load_lab(path)
    loc = err.value.location
    assert loc is not None and loc.file == path and loc.key == key, str(err.value)
    assert loc.line == text[: text.index(at)].count("\n") + 1, str(err.value)
    assert message in err.value.message


def test_toml_errors_and_missing_vms_are_located(tmp_path: Path) -> None:
    path = tmp_path / "x.lab.toml"
    path.write_text('id = "x"\n[template\nvmid = 1\n')
    with pytest.raises(LabguideError, match="not valid TOML") as err:
        load_lab(path)
    assert err.value.location is not None and err.value.location.line == 2
    path.write_text('id = "x"\n')
    with pytest.raises(LabguideError, match=r"at least one VM"):
        load_lab(path)


def test_a_lab_files_errors_in_the_readers_language(tmp_path: Path) -> None:
    """An author reads a lab file's errors as lint's: in the run's language, located the same."""
    from labguide.i18n import speaking

    path = tmp_path / "bad.lab.toml"
    path.write_text(BUNDLED.read_text().replace('http = true\n\n[[roles.lb',
                                                'http = "yes"\n\n[[roles.lb'))
    with speaking("ja"), pytest.raises(LabguideError) as err:
        load_lab(path)
    assert err.value.message == "http は true か false でなければなりません"
    assert err.value.location is not None and err.value.location.key == "roles.lb.http"
    with speaking("ja"), pytest.raises(LabguideError, match="ラボファイル mine.lab.toml"):
        lab_file_of(str(tmp_path / "mine.md"))
    path.write_text('id = "x"\n[template\n')
    with speaking("ja"), pytest.raises(LabguideError, match="ラボファイルが TOML として"):
        load_lab(path)


def test_which_lab_file_a_chapter_has(tmp_path: Path) -> None:
    assert lab_file_of("l4lb-ha").resolve() == BUNDLED.resolve()
    ja = BUNDLED.with_name("l4lb-ha.ja.md")
    assert lab_file_of(str(ja)).resolve() == BUNDLED.resolve()  # every language: one lab
    assert lab_file_of(str(BUNDLED)) == BUNDLED
    (tmp_path / "mine.md").write_text("+++\ntitle = 'x'\n+++\n")
    with pytest.raises(LabguideError, match="no lab file mine.lab.toml beside the chapter"):
        lab_file_of(str(tmp_path / "mine.md"))
    with pytest.raises(LabguideError, match="no bundled chapter 'nope'"):
        lab_file_of("nope")


def test_the_sandbox_holds_one_lab_at_a_time(tmp_path: Path) -> None:
    """The lab that is up is the copy of its lab file; `up` of another lab is refused before
    anything is made (a root of our own: the machine's lab is not touched)."""
    paths = LabPaths.default(tmp_path)
    assert current_lab(paths).id == "l4lb-ha"  # nothing recorded: the bundled lab
    other = tmp_path / "other.lab.toml"
    other.write_text(BUNDLED.read_text().replace('id = "l4lb-ha"', 'id = "other"'))
    record_lab(paths, load_lab(other))
    other.unlink()  # the copy is what counts
    assert current_lab(paths).id == "other"
    with pytest.raises(LabguideError, match="the sandbox holds the lab 'other'; `labguide lab "
                                            "down` first to build 'l4lb-ha'"):
        lab_mod.up(paths)
    assert not paths.inventory.exists() and not paths.cache.exists()


def test_another_labs_layers_are_its_own_in_the_cache() -> None:
    lab = parse_lab(BUNDLED.read_text().replace('id = "l4lb-ha"', 'id = "more-web"'),
                    Path("more-web.lab.toml"))
    assert [lab.layer_key(r) for r in lab.used_roles] == ["more-web.web", "more-web.lb",
                                                          "more-web.client"]


def test_the_second_chapters_lab_is_a_lab_of_its_own() -> None:
    """more-web (found by its bundled name, as `lab up more-web` finds it): a third web
    server in the start state, no VM made by the chapter, the packages the bundled lab's
    repository holds, layers cached apart. Its Japanese file names the same lab file."""
    lab = load_lab(lab_file_of("more-web"))
    assert lab.path.parent.name == "chapters"
    ja = lab_file_of(str(Path(__file__).parents[2] / "chapters" / "more-web.ja.md"))
    assert ja.resolve() == lab.path.resolve()
    assert lab.id == "more-web" and lab.created == ()
    assert [(v.name, v.ip, v.role) for v in lab.vms if v.name == "web-3"] == [
        ("web-3", "198.18.16.153", "web")]
    assert set(lab.repo_packages) <= set(REPO_PACKAGES)
    assert lab.layer_key("web") == "more-web.web"


def test_a_bad_line_in_the_second_chapters_lab_is_located(tmp_path: Path) -> None:
    """more-web's lab file is read as strictly as l4lb-ha's: web-3 (its own VM) given web-2's
    address is an error at web-3's line and key, in a copy beside a copy of its chapter."""
    good = lab_file_of("more-web").read_text()
    text = good.replace('address = "198.18.16.153"', 'address = "198.18.16.152"')
    assert text != good
    (tmp_path / "more-web.lab.toml").write_text(text)
    with pytest.raises(LabguideError) as err:
        load_lab(lab_file_of(str(tmp_path / "more-web.md")))
    loc = err.value.location
    assert loc is not None and loc.file == tmp_path / "more-web.lab.toml", str(err.value)
    assert loc.key == "vms[3].address" and "is also web-2's" in err.value.message
    assert loc.line == text[: text.index('name = "web-3"')].count("\n") + 2, str(err.value)
