"""Textual's Linux driver, with its input thread waking in time for a lone Escape.

Textual's input thread waits for input in `select(0.1)` and only then lets the key parser
notice that an Escape was not the start of a sequence (its ESCDELAY wait is over): a lone
Escape reached the app up to 100 ms late whatever ESCDELAY said (Textual 8.2.8), and closing
the step picker took 130–160 ms through a real terminal. In this copy of the thread, input
that ends in an Escape is followed by a wait of ESCDELAY (20 ms by default, tui/launch.py)
instead. Nothing else differs; `labguide run` uses it on POSIX terminals, never when
TEXTUAL_DRIVER names another driver (`labguide serve`: textual-serve's web driver)."""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder
from collections.abc import Mapping

from textual import constants
from textual._loop import loop_last
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

#: The longest the input thread sleeps (Textual's own value).
LONGEST_WAIT = 0.1


class PromptEscapeDriver(LinuxDriver):
    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's, but after input that ended in an
        Escape the wait is ESCDELAY, so the parser hears in time that it was a lone one)."""
        escape_wait = constants.ESCAPE_DELAY + 0.001
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        wait = LONGEST_WAIT

        def process(events: list[tuple[selectors.SelectorKey, int]],
                    final: bool = False) -> float:
            """Feed what came in; how long to wait next."""
            escape = False
            for last, (_key, mask) in loop_last(events):
                if mask & selectors.EVENT_READ:
                    data = decode(os.read(fileno, 1024 * 4), final=final and last)
                    if not data:
                        break
                    escape = data.endswith("\x1b")
                    for event in parser.feed(data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)
            return escape_wait if escape else LONGEST_WAIT

        try:
            while not self.exit_event.is_set():
                wait = process(selector.select(wait))
            selector.unregister(self.fileno)
            process(selector.select(wait), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass


def driver_for(environ: Mapping[str, str]) -> type[Driver] | None:
    """The app's driver: this one on a POSIX terminal; None (Textual's own choice) when
    TEXTUAL_DRIVER names another (the browser's under `labguide serve`) or off POSIX."""
    if os.name != "posix" or environ.get("TEXTUAL_DRIVER"):
        return None
    return PromptEscapeDriver
