"""The chapter's sections and steps as a tree, each step with its state, a short human title
(labguide/titles.py: its `title=`, what a check proves, or its first command; the id is in
the step view and the jump picker) and its duration."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from labguide.cells import cell_len, cut
from labguide.i18n import gettext as _
from labguide.plan import Plan
from labguide.titles import bound_title
from labguide.tui.step_info import MARKS, StepInfo
from labguide.tui.timefmt import duration


class StepTree(Tree[str]):
    """Not focusable: the app's keys drive it (arrows, n/b, j); a click on a step shows it;
    the cursor follows the current step."""

    can_focus = False
    DEFAULT_CSS = "StepTree { padding: 0; }"
    #: The list's width before it is laid out (the narrow layout's, labguide.tcss).
    DEFAULT_WIDTH = 26

    def __init__(self, plan: Plan, **kw: object) -> None:
        super().__init__(plan.chapter.title, **kw)  # type: ignore[arg-type]
        self.plan = plan
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False  # a click on a section shows its first step, not folds it
        self.nodes: dict[str, TreeNode[str]] = {}
        self.current: str | None = None
        self.line_count = 0
        self.border_title = _("Steps")
        self.titles: dict[str, str] = {}
        self.infos: Mapping[str, StepInfo] = {}

    def build(self, infos: Mapping[str, StepInfo]) -> None:
        """Sections and their steps, those of the plan only (--only, --to, --limit)."""
        self.infos = infos
        sections = 0
        for sec in self.plan.chapter.sections:
            steps = [s for s in sec.steps if s.id in infos]
            if not steps:
                continue
            sections += 1
            node = self.root.add(Text(sec.title, style="bold"), data=sec.id, expand=True)
            for step in steps:
                self.nodes[step.id] = node.add_leaf(self.label(step.id, infos[step.id]),
                                                    data=step.id)
        self.line_count = len(self.nodes) + sections

    def label(self, step_id: str, info: StepInfo) -> Text:
        """`▸✓ HAProxy runs on l4lb-1 ⚠ 0.3s`: the title is cut to what the list shows, so
        that the flags and the duration stay in sight."""
        mark, style = MARKS[info.status]
        bound = self.plan.bound(step_id)
        step = bound.step
        flags = ("⚠" if step.disruptive else "") + ("⟳" if step.background else "")
        tail = (f" {flags}" if flags else "") + (
            f" {duration(info.duration)}" if info.duration is not None else "")
        room = max(8, self.label_width - 2 - cell_len(tail))
        title = self.titles.get(step_id) or bound_title(bound)
        self.titles[step_id] = title
        title = cut(title, room)  # by terminal cells: a Japanese title is twice as wide
        text = Text()
        text.append("▸" if step_id == self.current else " ", style="bold reverse")
        text.append(f"{mark} ", style=style)
        text.append(title, style="bold" if step_id == self.current else "")
        if flags:
            text.append(f" {flags}", style="yellow")
        if info.duration is not None:
            text.append(f" {duration(info.duration)}", style="dim")
        return text

    @property
    def label_width(self) -> int:
        """Columns a step's label has: the list's width less the guides of its section."""
        width = self.scrollable_content_region.width or self.DEFAULT_WIDTH
        return width - 2 * self.guide_depth - 1

    def on_resize(self) -> None:
        """Titles are cut to the list's width: cut them again for the new one."""
        for step_id in self.nodes:
            if step_id in self.infos:
                self.update_step(step_id, self.infos[step_id])

    def update_step(self, step_id: str, info: StepInfo) -> None:
        node = self.nodes.get(step_id)
        if node is not None:
            node.set_label(self.label(step_id, info))

    def set_current(self, step_id: str, infos: Mapping[str, StepInfo]) -> None:
        old, self.current = self.current, step_id
        if old is not None and old in infos:
            self.update_step(old, infos[old])
        self.update_step(step_id, infos[step_id])
        node = self.nodes.get(step_id)
        if node is not None:
            self.move_cursor(node)
        self._drop_dead_lines()

    def _drop_dead_lines(self) -> None:
        """Tree caches rendered lines (up to 1,024) under keys that hold each node's update
        counter, so every label change leaves a dead entry behind: with a step change every
        few seconds the cache took ~15 minutes to fill and the app's memory rose until then.
        Live entries are at most one per line; past that, start afresh (one re-render of the
        visible lines, ≈ 4 ms, every few step changes instead of each)."""
        if len(self._line_cache) > self.line_count:
            self._line_cache.clear()
