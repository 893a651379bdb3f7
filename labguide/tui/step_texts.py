"""A step's text as lines ready to draw: its prose and command as Markdown, rendered by Rich
at a width into Textual strips, and kept (a step shown again, or read ahead, costs nothing).
No widget here: the step view draws these lines."""

from __future__ import annotations

from collections import OrderedDict
from typing import ClassVar

from markdown_it.token import Token
from rich import markdown
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import Markdown
from rich.style import Style
from rich.syntax import Syntax
from textual.strip import Strip

from labguide.i18n import gettext as _
from labguide.plan import BoundStep, Plan

FENCE_LANG = {"qm": "sh", "file": ""}
#: Pygments' theme for commands: the terminal's own ANSI colours, which Textual maps to the
#: app's theme (a fixed theme would bring its own background).
CODE_THEME = "ansi_dark"
#: Rendered texts kept: (step, width) → lines. A chapter of 70 steps at two widths fits.
KEPT = 160


class CodeBlock(markdown.CodeBlock):
    """A fenced block on a panel of its own colour (the app theme's `panel`), so that the
    command stands out from the prose."""

    background = "default"

    @classmethod
    def create(cls, md: Markdown, token: Token) -> CodeBlock:
        block = cls(token.info.partition(" ")[0] or "text", md.code_theme)
        block.background = md.code_background if isinstance(md, StepMarkdown) else "default"
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Syntax(str(self.text).rstrip(), self.lexer_name, theme=self.theme,
                     word_wrap=True, padding=(0, 1), background_color=self.background)


class StepMarkdown(Markdown):
    """Rich's Markdown with the code blocks above (each on `code_background`)."""

    elements: ClassVar[dict[str, type[markdown.MarkdownElement]]] = {
        **Markdown.elements, "fence": CodeBlock, "code_block": CodeBlock}

    def __init__(self, text: str, code_background: str) -> None:
        super().__init__(text, code_theme=CODE_THEME, hyperlinks=False)
        self.code_background = code_background


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
        parts.append(_("Expected: **{message}**").format(message=bound.message))
    parts.append(f"{fence}{lang}\n{body}\n{fence}")
    return "\n\n".join(parts)


def render_strips(console: Console, renderable: RenderableType, width: int,
                  style: Style) -> list[Strip]:
    """A renderable as lines of `width` cells on `style` (the widget's colours)."""
    options = console.options.update_width(width)
    lines = console.render_lines(renderable, options, style=style, pad=True)
    return [Strip(line, width) for line in lines]


class StepTexts:
    """Each step's text rendered once per width, the most recently used kept."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._kept: OrderedDict[tuple[str, int, Style, str], list[Strip]] = OrderedDict()

    def lines(self, console: Console, step_id: str, width: int, style: Style,
              code_background: str = "default") -> list[Strip]:
        key = (step_id, width, style, code_background)
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found
        text = StepMarkdown(step_markdown(self.plan.bound(step_id)), code_background)
        # a blank line between the head and the text
        lines = [Strip.blank(width, style), *render_strips(console, text, width, style)]
        self._kept[key] = lines
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return lines
