"""Readable step names (issue 18, item 8): the step list shows a short human title (the
chapter's title=, else what a check proves, else the first command), cut to the list's
width at 100×30 with its duration kept; the id stays where it is typed (the step view's
head, the jump picker)."""

from __future__ import annotations

from pathlib import Path

from labguide.chapter import parse_chapter
from labguide.plan import bind
from labguide.titles import bound_title, step_title
from tests.tui.conftest import app_for, l4lb_engine

CHAPTER = """+++
id = "titles"
title = "Titles"
hosts = ["a"]
[vars]
VIP = "198.18.16.140"
+++

## Steps

```sh {on="a" id="with-title" title="Say hello"}
echo hello
```

```sh {on="a" check id="vip-check" message="a holds ${VIP}"}
ip a | grep ${VIP}
```

```sh {on="a" id="first-command"}
# a comment first
sudo systemctl restart keepalived
```

```conf {on="a" id="conf" path="/etc/keepalived/keepalived.conf"}
x
```
"""


def test_where_a_title_comes_from(tmp_path: Path) -> None:
    ch = parse_chapter(CHAPTER, tmp_path / "t.md")
    plan = bind(ch, None)
    titles = [bound_title(b) for b in plan.steps]
    assert titles == ["Say hello", "a holds 198.18.16.140", "systemctl restart keepalived",
                      "write keepalived.conf"]
    assert step_title(ch.step("vip-check")) == "a holds ${VIP}"  # unbound, for completion


async def test_the_step_list_shows_titles_and_keeps_ids_where_typed(tmp_path: Path) -> None:
    app = app_for(l4lb_engine(tmp_path / "run"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        tree = app.step_tree
        label = str(tree.nodes["l4lb1-haproxy-ready"].label)
        assert "HAProxy runs on" in label and "l4lb1-haproxy-ready" not in label
        assert tree.label_width <= 24  # the narrow list: titles are cut to it …
        assert all(len(str(node.label)) <= tree.label_width + 1 for node in tree.nodes.values())
        assert "write keepalived" in str(tree.nodes["keepalived-conf-l4lb1"].label)
        app.infos["client-has-k6"].duration = 12.5  # … and a duration stays in sight
        tree.update_step("client-has-k6", app.infos["client-has-k6"])
        assert str(tree.nodes["client-has-k6"].label).endswith("… 12.5 s")
        await pilot.press("n")
        head = app.step_view.head_text.plain
        assert "HAProxy runs on l4lb-1" in head and "· l4lb1-haproxy-ready" in head
        await pilot.press("j")
        await pilot.pause()
        assert app.jump_panel.is_open
        prompt = app.jump_panel.prompt("l4lb1-haproxy-ready").plain
        assert "HAProxy runs on l4lb-1" in prompt and "l4lb1-haproxy-ready" in prompt
        await pilot.press("escape")
        await pilot.press("q")
