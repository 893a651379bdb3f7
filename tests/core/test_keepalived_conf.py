"""keepalived.conf parsing and comparison, on the chapter's own configuration."""

from __future__ import annotations

from labguide import keepalived_conf as kc
from labguide.chapter import find_chapter, load_chapter
from labguide.plan import bind


def plan():  # type: ignore[no-untyped-def]
    return bind(load_chapter(find_chapter("l4lb-ha")), None, {})


def test_chapter_config_matches_its_own_expectation() -> None:
    p = plan()
    for conf, expect in (("active-active-l4lb1", "final-keepalived-conf-l4lb1"),
                         ("active-active-l4lb2", "final-keepalived-conf-l4lb2")):
        found = kc.summary(kc.parse(p.bound(conf).script))
        assert kc.compare(kc.expectation(p.bound(expect).script), found) == []


def test_differences_are_named() -> None:
    p = plan()
    text = p.bound("active-active-l4lb1").script.replace("virtual_router_id 51",
                                                          "virtual_router_id 50")
    text = text.replace("        chk_maintenance_mode\n", "", 1)
    found = kc.summary(kc.parse(text))
    diffs = kc.compare(kc.expectation(p.bound("final-keepalived-conf-l4lb1").script), found)
    assert "VI_1.virtual_router_id: expected 51, found 50" in diffs
    assert ("VI_1.track_script: expected [chk_haproxy, chk_maintenance_mode], "
            "found [chk_haproxy]") in diffs


def test_comments_quotes_and_inline_braces() -> None:
    root = kc.parse('! c\nglobal_defs { vrrp_garp_master_refresh 60 } # x\n'
                    'vrrp_script s {\n  script "/bin/sh -c \'exit 0\'"\n  weight -5\n}\n'
                    'vrrp_instance V { virtual_ipaddress { 10.0.0.1/24 dev eth0 } }\n')
    s = kc.summary(root)
    assert s["vrrp_garp_master_refresh"] == 60
    assert s["vrrp_script"]["s"] == {"script": "/bin/sh -c 'exit 0'", "weight": -5}
    assert s["V"]["virtual_ipaddress"] == ["10.0.0.1"]


def test_what_the_file_has_and_the_chapter_did_not_expect_is_a_difference() -> None:
    # a line added to the host's file (a VIP with newlines once added this one) is flagged
    p = plan()
    text = p.bound("active-active-l4lb1").script.replace(
        "    priority 100\n", '    priority 100\n    notify_master "/usr/bin/touch /tmp/x"\n')
    text += "virtual_server 10.0.0.1 80 {\n    delay_loop 6\n}\ninclude /etc/extra.conf\n"
    text = text.replace("weight 10", "weight 10\n    user root")
    diffs = kc.compare(kc.expectation(p.bound("final-keepalived-conf-l4lb1").script),
                       kc.summary(kc.parse(text)))
    assert diffs == [
        "vrrp_script.chk_maintenance_mode.user: not expected, found root",
        "VI_1.notify_master: not expected, found /usr/bin/touch /tmp/x",
        "include: not expected, found /etc/extra.conf",
        "virtual_server 10.0.0.1 80: not expected, found {delay_loop 6}",
    ], diffs
def test_include_lines_and_canonical_form() -> None:
    assert kc.include_of("include /etc/keepalived/conf.d/*.conf") == \
        "/etc/keepalived/conf.d/*.conf"
    assert kc.include_of('  includem "a b/{x,y}.conf" ! comment') == "a b/{x,y}.conf"
    assert kc.include_of("include") is None and kc.include_of("include a b") is None
    assert kc.include_of("included_thing 1") is None
    one = kc.parse("vrrp_instance A { priority 1 }\nvrrp_instance B { priority 2 }\n")
    other = kc.parse("! reordered\nvrrp_instance B {\n priority 2\n}\n"
                     "vrrp_instance A { priority 1 }\n")
    assert kc.canonical(one) == kc.canonical(other)
    assert kc.canonical(one) != kc.canonical(kc.parse("vrrp_instance A { priority 3 }\n"
                                                      "vrrp_instance B { priority 2 }\n"))


def test_include_patterns_are_quoted_for_the_shell() -> None:
    from labguide.steps.conf_read import shell_pattern

    assert shell_pattern("conf.d/{a,b}*.conf") == "conf.d/{a,b}*.conf"
    assert shell_pattern("x$(id);`id` 'q'") == "x\\$\\(id\\)\\;\\`id\\`\\ \\'q\\'"
