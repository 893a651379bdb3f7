"""The current step: its title, badges and state, its prose as Markdown and the exact command
with the variables bound (drawn line by line: StepView), and, when it failed, what went wrong
and what to do (FailurePanel)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Static

from labguide.cells import cut
from labguide.events import StepStatus
from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.plan import BoundStep, Plan
from labguide.steps import kind_of
from labguide.titles import bound_title
from labguide.tui.step_info import MARKS, StepInfo
from labguide.tui.step_texts import StepTexts, render_strips
from labguide.tui.timefmt import duration
from labguide.tui.widgets.picker import TITLE, StepPicker
from labguide.tui.words import styled

#: Where the TUI words a kind otherwise than its own verb (labguide/steps/).
KIND_LABEL = {"file": N_("write file"), "qm": N_("Proxmox")}
#: What the step view says of each flag of a step.
FLAG_WORDS = {"disruptive": N_("disruptive"), "reboots": N_("reboots"),
              "background": N_("background"), "walk-through": N_("walk-through")}
#: What to do about a failed step of each kind when the chapter gives no hint.
TODO = {
    "check": N_("fix what the check reports, then retry it"),
    "keepalived": N_("fix what the check reports, then retry it"),
    "wait": N_("the condition did not come true in time: look at the VIP pane and the hosts' "
               "logs, then retry"),
    "file": N_("check the path and the permissions on the host, then retry"),
    "load": N_("look at the stream pane's failures and outages, then retry"),
}
TODO_ELSE = N_("read the output above, fix the cause, then retry")


def badges(bound: BoundStep) -> Text:
    step = bound.step
    kind = kind_of(step)
    hosts = Text()
    for n, host in enumerate(step.hosts):
        hosts.append(" " if n else "")
        hosts.append(f" {host} ", style="bold black on cyan")
    label = Text(f" {_(KIND_LABEL.get(step.kind, kind.verb))} ", style="bold reverse")
    t = styled(_("{kind} on {hosts}"), kind=label, hosts=hosts)
    t.append(" ")
    if step.kind == "file":
        t.append(f"→ {kind.target(bound)}", style="bold")
    flags = [name for name, on in (("disruptive", step.disruptive),
                                   ("reboots", step.kind == "reboot"),
                                   ("background", step.background),
                                   ("walk-through", step.transient)) if on]
    if flags:
        t.append("  " + " ".join(f"[{_(FLAG_WORDS[f])}]" for f in flags), style="yellow")
    return t


def head(bound: BoundStep, info: StepInfo) -> Text:
    """The title; the kind and host badges, the state and the id (what --from takes)."""
    mark, style = MARKS[info.status]
    text = Text()
    text.append(f"{mark} {bound_title(bound)}\n", style=f"bold {style}")
    text.append_text(badges(bound))
    text.append(f" {info.status.word}", style=style)
    if info.duration is not None:
        text.append(" " + _("in {duration}").format(duration=duration(info.duration)),
                    style="dim")
    text.append(f" · {bound.id}", style="dim")
    return text


class StepView(ScrollView):
    """The current step as lines drawn by the widget itself (Textual's line API): its head
    (title, badges, state, id) and its text (the step's Markdown, rendered by Rich).

    One widget whose size never changes with the step: showing another step swaps its lines
    and repaints this pane only, with no layout of the screen (a Markdown widget per step
    was a tree of block widgets laid out again on each change: 113–121 ms at the 95th
    percentile through a real terminal). Texts are rendered once per width and kept
    (StepTexts); the neighbours of the shown step are rendered while the reader reads."""

    can_focus = False
    DEFAULT_CSS = """
    StepView { height: 1fr; padding: 0 1; overflow-y: scroll; overflow-x: hidden; }
    """

    def __init__(self, plan: Plan, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.plan = plan
        self.step_id: str | None = None
        self.border_title = _("Step")
        self.texts = StepTexts(plan)
        self._head: list[Strip] = []
        self._body: list[Strip] = []
        self.head_text = Text()
        self._ahead: Timer | None = None
        self._ahead_ids: list[str] = []
        self._line_style = Style()
        self._line_width = 0
        self.picker: StepPicker | None = None
        self._title = ""

    class Picked(Message):
        """A step was chosen in the picker (enter, or a click)."""

        def __init__(self, step_id: str) -> None:
            super().__init__()
            self.step_id = step_id

    @property
    def text_width(self) -> int:
        return max(10, self.scrollable_content_region.width)

    def show(self, step_id: str, info: StepInfo) -> None:
        changed = step_id != self.step_id
        self.step_id = step_id
        if changed:
            section = self.plan.chapter.section_of(step_id)
            n = self.plan.index(step_id) + 1
            title = _("Step {n}/{total} · {section}").format(
                n=n, total=len(self.plan.steps), section=section.title)
            if self.picker is None:
                self.border_title = title
            self._title = title
            self._body = self.text_lines(step_id)
            self.scroll_to(0, 0, animate=False, immediate=True)
            self._read_ahead()
        self.show_status(info)

    def text_lines(self, step_id: str) -> list[Strip]:
        """A step's text drawn for this pane (kept: drawn once per width and theme)."""
        return self.texts.lines(self.app.console, step_id, self.text_width, self.rich_style,
                                self.app.theme_variables.get("panel", "default"))

    def _read_ahead(self) -> None:
        """Render the steps around this one once the screen has been updated, one per
        tick (a key pressed meanwhile waits for one text at most): most often the next
        key shows one of them."""
        if self._ahead is not None:
            self._ahead.stop()
        if self.step_id is not None:
            n = self.plan.index(self.step_id)
            self._ahead_ids = [self.plan.steps[k].id for k in (n + 1, n - 1, n + 2)
                               if 0 <= k < len(self.plan.steps)]
            self._ahead = self.set_timer(0.05, self._render_neighbour)

    def _render_neighbour(self) -> None:
        if self._ahead_ids:
            self.text_lines(self._ahead_ids.pop(0))
        if self._ahead_ids:
            self._ahead = self.set_timer(0.02, self._render_neighbour)

    def on_resize(self) -> None:
        if self.step_id is not None:
            self._body = self.text_lines(self.step_id)
            if self.picker is not None:
                self.picker.render()
            self._layout_lines()

    # -- the step picker, drawn here instead of the step ---------------------------------

    def show_picker(self, picker: StepPicker) -> None:
        self.picker = picker
        self._title = str(self.border_title or "")
        self.border_title = _(TITLE)
        self._layout_lines()
        self.picker_moved(picker.highlighted, middle=True)

    def hide_picker(self) -> None:
        self.picker = None
        self.border_title = self._title
        self._layout_lines()
        self.scroll_to(0, 0, animate=False, immediate=True)

    def picker_moved(self, line: int, middle: bool = False) -> None:
        """Keep the highlighted line in sight (`middle`: in the middle of the pane)."""
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        if middle:
            top = line - height // 2
        elif line < top:
            top = line
        elif line >= top + height:
            top = line - height + 1
        self.scroll_to(0, max(0, top), animate=False, immediate=True)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        at = event.get_content_offset(self)
        if self.picker is not None and at is not None:
            chosen = self.picker.pick(at.y + int(self.scroll_offset.y))
            if chosen is not None:
                self.post_message(self.Picked(chosen))

    def show_status(self, info: StepInfo) -> None:
        if self.step_id is None:
            return
        self.head_text = head(self.plan.bound(self.step_id), info)
        self._head = render_strips(self.app.console, self.head_text, self.text_width,
                                   self.rich_style)
        self._layout_lines()

    def _layout_lines(self) -> None:
        """The new lines' extent, without a layout of the screen: the scrollbar is always
        there (overflow-y: scroll), so nothing around this pane moves; only the scrollbar's
        proportions and this pane's lines are updated."""
        lines = len(self.picker.lines) if self.picker else len(self._head) + len(self._body)
        size = Size(self.text_width, lines)
        if size != self.virtual_size:
            self.set_reactive(StepView.virtual_size, size)
            self._scroll_update(size)
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        # what every line needs, worked out once per repaint rather than once per line
        self._line_style = self.rich_style
        self._line_width = self.scrollable_content_region.width
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width, style = self._line_width, self._line_style
        if self.picker is not None:
            lines = self.picker.lines
        elif index < len(self._head):
            lines = self._head
        else:
            lines, index = self._body, index - len(self._head)
        if index >= len(lines):
            return Strip.blank(width, style)
        return lines[index].crop_extend(scroll_x, scroll_x + width, style)


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
        title = {StepStatus.FAILED: _("{step} failed"),
                 StepStatus.CANCELLED: _("{step} was cancelled"),
                 StepStatus.WARNED: _("{step} passed with a warning")}[info.status]
        head = Text(title.format(step=bound.id), style="bold")
        if info.message:
            head.append(_(": {message}").format(message=info.message))
        lines.append(head)
        exits = Text()
        for host in bound.step.hosts:
            code = info.exits.get(host)
            err = info.errors.get(host)
            exits.append(f"{host}: ", style="bold")
            said = _("exit status {status}").format(status="—" if code is None else code)
            exits.append(said)
            if err and err not in (info.message or "") and err != said:
                exits.append(f" ({cut(err, 60)})", style="dim")
            exits.append("   ")
        lines.append(exits)
        if info.status != StepStatus.WARNED:
            todo = bound.hint or _(TODO.get(bound.step.kind, TODO_ELSE))
            lines.append(Text(_("what to do: {todo}").format(todo=todo), style="yellow"))
            lines.append(Text(_("{retry} retry · {skip} skip · {back} back").format(
                retry=keys.get("retry_step", "t"), skip=keys.get("skip_step", "s"),
                back=keys.get("back", "b")), style="dim"))
        return Group(*lines)
