"""Parsers of `ip -o monitor` and keepalived lines, and the pure VipState model."""

from __future__ import annotations

import time

from labguide.events import Event
from labguide.probes.events import (
    HostReachability,
    SplitBrain,
    VipAcquired,
    VipReleased,
    VrrpStateChanged,
)
from labguide.probes.vip_parse import (
    AddressChange,
    parse_active_line,
    parse_address_line,
    parse_keepalived_line,
)
from labguide.probes.vip_state import VipState

VIP = "198.18.16.140"


def states(events: list[Event]) -> list[VrrpStateChanged]:
    assert all(isinstance(e, VrrpStateChanged) for e in events)
    return [e for e in events if isinstance(e, VrrpStateChanged)]


def test_address_lines_from_monitor_and_listing() -> None:
    added = parse_address_line(
        "[2026-11-25T12:26:41.657050] 3: eth0    inet 198.18.16.140/24 scope global "
        "secondary eth0\\       valid_lft forever preferred_lft forever")
    assert added == AddressChange("198.18.16.140", "eth0", False, 1795609601.65705)
    deleted = parse_address_line(
        "[2026-11-25T12:26:41.658411] Deleted 3: eth0    inet 198.18.16.140/24 scope global")
    assert deleted is not None and deleted.deleted
    listed = parse_address_line("2: eth0@if7    inet 10.0.0.1/24 brd 10.0.0.255 scope global")
    assert listed == AddressChange("10.0.0.1", "eth0", False, None)
    v6 = parse_address_line("3: eth0    inet6 2001:DB8:0::1/64 scope global")
    assert v6 is not None and v6.address == "2001:db8::1"
    assert parse_address_line("Timestamp: Wed Nov 25 12:26:28 2026 591672 usec") is None
    assert parse_address_line("Cannot open network namespace: No such file") is None


def test_keepalived_lines() -> None:
    line = ("1764071201.123456 l4lb-1 Keepalived_vrrp[612]: (VI_1) Entering MASTER STATE")
    fact = parse_keepalived_line(line)
    assert fact is not None
    assert (fact.instance, fact.state, fact.host_t) == ("VI_1", "MASTER", 1764071201.123456)
    console = parse_keepalived_line("Wed Nov 25 12:32:27 2026: (VI_1) Entering BACKUP STATE (init)")
    assert console is not None and console.state == "BACKUP"
    assert console.host_t == time.mktime((2026, 11, 25, 12, 32, 27, 0, 0, -1))  # local time
    start = parse_keepalived_line("Wed Nov 25 12:32:20 2026: Starting Keepalived v2.2.7 (01/16)")
    assert start is not None and (start.instance, start.state) == ("*", "RUNNING")
    prio = parse_keepalived_line("x Keepalived_vrrp[1]: (VI_1) Changing effective priority "
                                 "from 100 to 110")
    assert prio is not None and prio.priority == 110 and prio.state is None
    fault = parse_keepalived_line("(VI_2) Entering FAULT STATE")
    assert fault is not None and fault.state == "FAULT" and fault.instance == "VI_2"
    stop = parse_keepalived_line("1764071201.5 l4lb-1 Keepalived[600]: Stopped Keepalived v2.2.7")
    assert stop is not None and (stop.instance, stop.state) == ("*", "STOPPED")
    killed = parse_keepalived_line(
        "1.0 h systemd[1]: keepalived.service: Main process exited, code=killed, status=9/KILL")
    assert killed is not None and killed.state == "STOPPED"
    assert parse_keepalived_line("Sending gratuitous ARP on eth0 for 198.18.16.140") is None
    active = parse_active_line("@active inactive")
    assert active is not None and active.state == "STOPPED"
    running = parse_active_line("@active active")
    assert running is not None and running.state == "RUNNING"
    absent = parse_active_line("@active not-found")
    assert absent is not None and absent.state == "ABSENT"  # keepalived not installed
    assert parse_active_line("@active ") is None  # no systemd here: no opinion
    assert parse_active_line("@active unknown") is None


def test_failover_timeline_and_gap() -> None:
    s = VipState([VIP], ["a", "b"])
    events = s.prime("a", [(VIP, "eth0"), ("10.0.0.1", "eth0")], t=10.0)
    assert [type(e) for e in events] == [HostReachability, VipAcquired]
    assert s.prime("b", [], t=10.0) == [HostReachability("b", True, t=10.0)]
    assert s.owner(VIP) == "a" and s.interface(VIP, "a") == "eth0"
    assert s.apply("a", "10.0.0.9", "eth0", False, t=11.0) == []  # not a watched VIP
    assert s.apply("a", VIP, "eth0", False, t=11.0) == []  # already held: no event
    (gone,) = s.apply("a", VIP, "eth0", True, t=20.1, host_t=20.0)
    assert gone == VipReleased(VIP, "a", "removed", 20.0, t=20.1)
    assert s.owner(VIP) is None
    (got,) = s.apply("b", VIP, "eth0", False, t=20.7, host_t=20.62)
    assert isinstance(got, VipAcquired) and got.host == "b"
    assert s.last_gap(VIP) is not None and abs((s.last_gap(VIP) or 0) - 0.62) < 1e-9
    assert [(c.host, c.acquired, c.holders) for c in s.changes(VIP)] == [
        ("a", True, ("a",)), ("a", False, ()), ("b", True, ("b",))]


def test_split_brain_is_two_holders_past_the_master_down_interval() -> None:
    s = VipState([VIP], ["a", "b", "c"])
    s.apply("a", VIP, "eth0", False, t=1.0)
    events = s.apply("b", VIP, "eth0", False, t=2.0)
    assert not any(isinstance(e, SplitBrain) for e in events)  # a handover so far
    assert s.handover(VIP) and not s.split_brain(VIP) and s.owner(VIP) is None
    window = s.window(VIP)
    assert window == 4.0  # no configuration seen: 3 × 1 s + the largest skew
    assert s.next_due() == 2.0 + window
    assert s.due(2.0 + window - 0.01) == []
    (alarm,) = s.due(2.0 + window)
    assert alarm == SplitBrain(VIP, ("a", "b"), True, 2.0, window, t=2.0 + window)
    assert s.split_brain(VIP) and s.next_due() is None and s.due(100.0) == []
    more = s.apply("c", VIP, "eth0", False, t=7.0)
    assert not any(isinstance(e, SplitBrain) for e in more)
    s.apply("c", VIP, "eth0", True, t=8.0)
    events = s.apply("a", VIP, "eth0", True, t=9.0)
    assert events[-1] == SplitBrain(VIP, ("b",), False, 2.0, window, t=9.0)
    assert isinstance(events[0], VipReleased) and events[0].overlap is None
    ended = s.changes(VIP)[-1]
    assert ended.split and ended.overlap == 7.0
    gap_free = [c for c in s.changes(VIP) if c.acquired]
    assert all(c.gap is None for c in gap_free)  # always held by someone: no hole


def test_a_failback_overlap_is_a_handover_with_its_measured_overlap() -> None:
    """VRRP preemption: the new master adds the VIP ~1 ms before the old one drops it. No
    alarm (`watch` printed SPLIT BRAIN and "over" in the same millisecond), and the
    timeline keeps the overlap, by the hosts' own stamps."""
    s = VipState([VIP], ["a", "b"])
    s.apply("b", VIP, "eth0", False, t=1.0, host_t=1.0)
    assert s.apply("a", VIP, "eth0", False, t=5.0004, host_t=5.0) == [
        VipAcquired(VIP, "a", "eth0", 5.0, t=5.0004)]
    (gone,) = s.apply("b", VIP, "eth0", True, t=5.0015, host_t=5.001)
    assert isinstance(gone, VipReleased) and abs((gone.overlap or 0) - 0.001) < 1e-9
    assert s.next_due() is None and s.due(100.0) == [] and not s.split_brain(VIP)
    last = s.changes(VIP)[-1]
    assert not last.split and abs((last.overlap or 0) - 0.001) < 1e-9


def test_the_window_comes_from_keepalived_conf() -> None:
    s = VipState([VIP, "198.18.16.141"], ["a", "b"])
    s.keepalived.configure("a", CONF.format(prio=100, advert=1))
    s.keepalived.configure("b", CONF.format(prio=99, advert=2))
    # the slowest backup: advert_int 2, priority 99 → 3 × 2 + (256 - 99) / 256 × 2
    assert abs(s.window(VIP) - (6 + 157 / 128)) < 1e-9
    assert s.window("198.18.16.141") == 4.0  # no instance names it
    s.keepalived.configure("b", "vrrp_instance VI_1 {")  # unreadable: default for b
    assert abs(s.window(VIP) - (3 + 156 / 256)) < 1e-9


CONF = """global_defs {{ router_id x }}
vrrp_script chk {{ script "/bin/true" }}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int {advert}
    auth_pass s3cret
    virtual_ipaddress {{
        198.18.16.140/24 dev eth0
    }}
}}
"""


def test_unreachable_host_holds_nothing_and_its_keepalived_is_unknown() -> None:
    s = VipState([VIP], ["a", "b"])
    s.prime("a", [(VIP, "eth0")], t=1.0)
    s.vrrp("a", "VI_1", t=1.0, state="MASTER")
    events = s.lost("a", t=5.0, error="connection lost")
    assert events == [
        HostReachability("a", False, "connection lost", t=5.0),
        VipReleased(VIP, "a", "unreachable", None, t=5.0),
        VrrpStateChanged("a", "VI_1", "UNKNOWN", None, t=5.0),
    ]
    assert s.lost("a", t=6.0, error="again") == []  # one event per outage of the host
    assert s.reachable("a") is False and s.error("a") == "connection lost"


def test_keepalived_view_state_priority_and_stop() -> None:
    s = VipState([VIP], ["a"])
    (e1,) = s.vrrp("a", "VI_1", t=1.0, state="BACKUP")
    assert e1 == VrrpStateChanged("a", "VI_1", "BACKUP", None, t=1.0)
    assert s.keepalived.daemon("a") == "RUNNING"  # an instance speaks: keepalived runs
    (e2,) = states(s.vrrp("a", "VI_1", t=2.0, priority=110))
    assert (e2.state, e2.priority) == ("BACKUP", 110)
    assert s.vrrp("a", "VI_1", t=2.5, state="BACKUP") == []
    (e3,) = states(s.vrrp("a", "VI_1", t=3.0, state="MASTER"))
    assert (e3.state, e3.priority) == ("MASTER", 110)
    (e4,) = states(s.vrrp("a", "*", t=4.0, state="STOPPED"))
    assert (e4.instance, e4.state) == ("*", "STOPPED")
    instance = s.instance("a", "VI_1")
    assert instance is not None and (instance.state, instance.since) == ("STOPPED", 4.0)
    assert s.vrrp("a", "*", t=4.5, state="STOPPED") == []  # the poll says it again
    (e5,) = states(s.vrrp("a", "*", t=5.0, state="RUNNING"))
    assert (e5.instance, e5.state) == ("*", "RUNNING")
    assert s.instances("a") == ()  # the old run's instances: the new one will say
    fresh = VipState([VIP], ["b"])
    (e6,) = states(fresh.vrrp("b", "*", t=1.0, state="STOPPED"))
    assert (e6.instance, e6.state) == ("*", "STOPPED")
