"""The current step: its prose as Markdown, the exact command with host badges and the
variables bound, and, when it failed, what went wrong and what to do."""

from __future__ import annotations

from collections import OrderedDict

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from labguide.events import StepStatus
from labguide.plan import BoundStep, Plan
from labguide.steps import kind_of
from labguide.titles import bound_title
from labguide.tui.step_info import MARKS, StepInfo
from labguide.tui.timefmt import duration

#: Where the TUI words a kind otherwise than its own verb (labguide/steps/).
KIND_LABEL = {"file": "write file", "qm": "Proxmox"}
FENCE_LANG = {"qm": "sh", "file": ""}
#: step texts kept mounted (hidden when not current): going back and forth between nearby
#: steps shows widgets that exist instead of building new ones (≈ 40% less time per key,
#: and no stream of new widgets for Textual's caches to fill up on)
KEPT_STEPS = 8


def badges(bound: BoundStep) -> Text:
    step = bound.step
    t = Text()
    kind = kind_of(step)
    t.append(f" {KIND_LABEL.get(step.kind, kind.verb)} ", style="bold reverse")
    t.append(" on ")
    for host in step.hosts:
        t.append(f" {host} ", style="bold black on cyan")
        t.append(" ")
    if step.kind == "file":
        t.append(f"→ {kind.target(bound)}", style="bold")
    flags = [name for name, on in (("disruptive", step.disruptive),
                                   ("reboots", step.kind == "reboot"),
                                   ("background", step.background),
                                   ("walk-through", step.transient)) if on]
    if flags:
        t.append("  " + " ".join(f"[{f}]" for f in flags), style="yellow")
    return t


def step_markdown(bound: BoundStep) -> str:
    step = bound.step
    lang = FENCE_LANG.get(step.kind, step.lang if step.lang not in ("conf", "qm") else "")
    fence = "````" if "```" in bound.shown else "```"
    body = bound.shown.rstrip("\n")
    prose = step.prose.strip()
    # a check's message is its title (in the head) unless the chapter gave it a title
    expected = bound.message and step.check and step.title
    parts = [prose] if prose else []
    if expected:
        parts.append(f"Expected: **{bound.message}**")
    parts.append(f"{fence}{lang}\n{body}\n{fence}")
    return "\n\n".join(parts)


class StepView(VerticalScroll):
    can_focus = False
    DEFAULT_CSS = """
    StepView { height: 1fr; padding: 0 1; }
    StepView > #step-head { height: auto; }
    StepView > Markdown { margin: 0; padding: 0; }
    """

    def __init__(self, plan: Plan, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.plan = plan
        self.step_id: str | None = None
        self.border_title = "Step"
        self._texts: OrderedDict[str, Markdown] = OrderedDict()
        # held, not queried: showing a step changes `display` here, which invalidates
        # Textual's query_one cache, so each query would add a dead entry
        self._head = Static(id="step-head")

    def compose(self) -> ComposeResult:
        yield self._head

    def show(self, step_id: str, info: StepInfo) -> None:
        changed = step_id != self.step_id
        self.step_id = step_id
        self.show_status(info)
        if changed:
            section = self.plan.chapter.section_of(step_id)
            n = self.plan.index(step_id) + 1
            self.border_title = f"Step {n}/{len(self.plan.steps)} · {section.title}"
            self._show_text(step_id)
            self.scroll_home(animate=False)

    def _show_text(self, step_id: str) -> None:
        self._text_for(step_id)
        for kept, widget in self._texts.items():
            widget.display = kept == step_id
        n = self.plan.index(step_id)
        if n + 1 < len(self.plan.steps):  # most often the next key shows the next step
            self.call_after_refresh(self._text_for, self.plan.steps[n + 1].id)

    def _text_for(self, step_id: str) -> Markdown:
        """The step's Markdown widget, made (hidden) and mounted if it is not kept yet."""
        widget = self._texts.get(step_id)
        if widget is not None:
            self._texts.move_to_end(step_id)
            return widget
        widget = Markdown(step_markdown(self.plan.bound(step_id)), classes="step-text")
        widget.display = False
        self._texts[step_id] = widget
        self.mount(widget)
        while len(self._texts) > KEPT_STEPS:
            evicted, oldest = self._texts.popitem(last=False)
            if evicted == self.step_id:  # never the one on screen
                self._texts[evicted] = oldest
                continue
            oldest.remove()
        return widget

    @property
    def text(self) -> Markdown | None:
        """The current step's Markdown widget."""
        return self._texts.get(self.step_id) if self.step_id else None

    def show_status(self, info: StepInfo) -> None:
        if self.step_id is None:
            return
        bound = self.plan.bound(self.step_id)
        mark, style = MARKS[info.status]
        head = Text()
        head.append(f"{mark} {bound_title(bound)}\n", style=f"bold {style}")
        head.append_text(badges(bound))
        head.append(f" {info.status.value}", style=style)
        if info.duration is not None:
            head.append(f" in {duration(info.duration)}", style="dim")
        head.append(f" · {self.step_id}", style="dim")  # the id: what --from and jump take
        self._head.update(head)


class FailurePanel(Static):
    """Shown under the step when it failed: the message, exit status per host, what to do."""

    DEFAULT_CSS = """
    FailurePanel { height: auto; max-height: 9; padding: 0 1; background: $error 20%;
                   display: none; }
    FailurePanel.-shown { display: block; }
    """

    def show_for(self, plan: Plan, step_id: str, info: StepInfo, keys: dict[str, str]) -> None:
        failed = info.status in (StepStatus.FAILED, StepStatus.CANCELLED, StepStatus.WARNED)
        self.set_class(failed, "-shown")
        if failed:
            self.update(self.describe(plan.bound(step_id), info, keys))

    @staticmethod
    def describe(bound: BoundStep, info: StepInfo, keys: dict[str, str]) -> Group:
        lines: list[RenderableType] = []
        title = {StepStatus.FAILED: "failed", StepStatus.CANCELLED: "was cancelled",
                 StepStatus.WARNED: "passed with a warning"}[info.status]
        head = Text(f"{bound.id} {title}", style="bold")
        if info.message:
            head.append(f": {info.message}")
        lines.append(head)
        exits = Text()
        for host in bound.step.hosts:
            code = info.exits.get(host)
            err = info.errors.get(host)
            exits.append(f"{host}: ", style="bold")
            exits.append("exit status " + ("—" if code is None else str(code)))
            if err and err not in (info.message or "") and not err.startswith("exit status"):
                exits.append(f" ({err[:60]})", style="dim")
            exits.append("   ")
        lines.append(exits)
        if info.status != StepStatus.WARNED:
            todo = bound.hint or {
                "check": "fix what the check reports, then retry it",
                "keepalived": "fix what the check reports, then retry it",
                "wait": "the condition did not come true in time: look at the VIP pane "
                        "and the hosts' logs, then retry",
                "file": "check the path and the permissions on the host, then retry",
                "load": "look at the stream pane's failures and outages, then retry",
            }.get(bound.step.kind, "read the output above, fix the cause, then retry")
            lines.append(Text(f"what to do: {todo}", style="yellow"))
            lines.append(Text(f"{keys.get('retry_step', 't')} retry · "
                              f"{keys.get('skip_step', 's')} skip · "
                              f"{keys.get('back', 'b')} back", style="dim"))
        return Group(*lines)
