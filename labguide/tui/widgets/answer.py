"""The answer line under the output: shown when the running command asks something (a
password, yes/no, a name); what is typed there goes to the command. A secret prompt's answer
is not shown (password mode) and never kept."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from labguide.i18n import N_
from labguide.i18n import gettext as _


class AnswerLine(Input):
    BINDINGS = [Binding("escape", "put_away", N_("Not now"), show=False, id="answer_put_away")]
    DEFAULT_CSS = """
    AnswerLine { display: none; border: tall $warning; margin: 0 0; }
    AnswerLine.-asking { display: block; }
    """

    class Given(Message):
        """The reader's answer to the prompt of `step_id` on `host`."""

        def __init__(self, step_id: str, host: str, text: str) -> None:
            super().__init__()
            self.step_id, self.host, self.text = step_id, host, text

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.asking: tuple[str, str] | None = None
        self.can_focus = False  # the keyboard stays the app's until something is asked

    def ask(self, step_id: str, host: str, prompt: str, secret: bool) -> None:
        self.asking = (step_id, host)
        self.password = secret
        self.value = ""
        self.border_title = _("{host} asks: {prompt}").format(host=host, prompt=prompt) + (
            _("  (typed answer not shown)") if secret else "")
        self.placeholder = _("type the answer, enter sends it · escape: not now")
        self.add_class("-asking")
        self.can_focus = True
        self.focus()

    def done(self, step_id: str, host: str) -> None:
        """The prompt was answered or its command ended: put the line away."""
        if self.asking == (step_id, host):
            self.put_away()

    def put_away(self) -> None:
        self.asking = None
        self.value = ""
        self.remove_class("-asking")
        self.blur()
        self.can_focus = False

    def action_put_away(self) -> None:
        """Escape: leave the question for now (the command keeps waiting)."""
        self.blur()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.asking is not None:
            step_id, host = self.asking
            text = self.value
            self.put_away()
            self.post_message(self.Given(step_id, host, text))
