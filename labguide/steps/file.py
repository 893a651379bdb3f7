"""`file` steps: write a file on each host (atomically, with a mode, with sudo), after a
diff of what changes; "unchanged" when the host already has it. For --check, `drift`
compares the file with the chapter's text without writing anything."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import ClassVar

from labguide import keepalived_conf as kc
from labguide.errors import LabguideError
from labguide.events import StepStatus
from labguide.i18n import N_, ngettext
from labguide.i18n import gettext as _
from labguide.plan import BoundStep
from labguide.steps.conf_read import is_keepalived_conf, read_config
from labguide.steps.context import StepContext, Verdict
from labguide.steps.kind import Attrs, Drift, StepKind


@dataclass(frozen=True)
class FileOptions:
    mode: int | None = None
    sudo: bool = False


def path_attr(attrs: Attrs) -> None:
    """A file path must be absolute (or start with a variable that makes it so)."""
    if not attrs.text("path").startswith(("/", "~", "$")):
        raise attrs.error(_("path= must be absolute"))


class FileKind(StepKind):
    name = "file"
    verb = N_("write")
    marker = "path"
    attrs: ClassVar[frozenset[str]] = frozenset({"path", "mode", "sudo", "disruptive", "hint"})
    default_timeout = 60.0
    langs = None  # any language: the block is the file's content
    texts = ("path",)
    quotes_values = False

    def options(self, attrs: Attrs) -> FileOptions:
        path_attr(attrs)
        mode = None
        if "mode" in attrs:
            raw = attrs.text("mode")
            if not re.match(r"^0?[0-7]{3,4}$", raw):
                raise attrs.error(_("mode={raw!r} must be octal, e.g. mode=\"0644\"").format(
                    raw=raw))
            mode = int(raw, 8)
        return FileOptions(mode=mode, sudo=attrs.flag("sudo"))

    def target(self, bound: BoundStep) -> str:
        return bound.shown_text("path") + (" (sudo)" if bound.step.options.sudo else "")

    def diff(self, ctx: StepContext, old: bytes | None) -> list[str]:
        """Unified diff of what the step would change (old None: the file is new), between
        the masked texts: a secret (multi-line too) never shows, not even line by line."""
        shown = ctx.bound.shown_text("path")
        before = ctx.redact((old or b"").decode("utf-8", "replace")).splitlines()
        after = ctx.bound.shown.splitlines()
        label = shown if old is not None else "/dev/null"
        return [ctx.redact(line.rstrip("\n")) for line in difflib.unified_diff(
            before, after, fromfile=label, tofile=shown, lineterm="")]

    async def preview(self, ctx: StepContext) -> dict[str, list[str]]:
        out = {}
        for host in ctx.step.hosts:
            old = await ctx.transport(host).read_file(
                ctx.bound.text("path"), sudo=ctx.step.options.sudo, timeout=ctx.step.timeout)
            out[host] = self.diff(ctx, old)
        return out

    drifts = True

    async def drift(self, ctx: StepContext, host: str) -> Drift:
        """The file on the host against what the chapter writes (read only). A keepalived
        configuration is compared as keepalived reads it: its `include`s followed, and the
        same settings however split across files, ordered or commented are the same."""
        path, sudo = ctx.bound.text("path"), ctx.step.options.sudo
        old = await ctx.transport(host).read_file(path, sudo=sudo)
        if old is None:
            return Drift("missing", tuple(self.diff(ctx, None)),
                         _("{path} does not exist").format(path=path))
        if old == ctx.bound.script.encode():
            return Drift("same")
        if is_keepalived_conf(path):
            conf = await read_config(ctx.transport(host), path, sudo=sudo,
                                     timeout=ctx.step.timeout, data=old)
            assert conf is not None
            return drift_of_config(ctx, conf.text, conf.included, self.diff(ctx, old))
        return Drift("differs", tuple(self.diff(ctx, old)))

    async def run(self, ctx: StepContext) -> Verdict:
        return await ctx.per_host(lambda host: self.write(ctx, host),
                                  timeout=ctx.step.timeout)

    async def write(self, ctx: StepContext, host: str) -> Verdict:
        bound, opts, path = ctx.bound, ctx.step.options, ctx.bound.text("path")
        shown = bound.shown_text("path")
        transport = ctx.transport(host)
        new = bound.script.encode()
        old = await transport.read_file(path, sudo=opts.sudo, timeout=ctx.step.timeout)
        for line in self.diff(ctx, old):
            ctx.emit(host, "diff", line)
        if old == new:
            ctx.outcomes[host].exit_status = 0
            ctx.emit(host, "info", _("{path} is already up to date").format(path=shown))
            return Verdict(StepStatus.PASSED, _("unchanged"))
        await transport.write_file(path, new, mode=opts.mode, sudo=opts.sudo,
                                   timeout=ctx.step.timeout)
        ctx.outcomes[host].exit_status = 0
        ctx.emit(host, "info", ngettext("wrote {path} ({n} byte)", "wrote {path} ({n} bytes)",
                                        len(new)).format(path=shown, n=len(new)))
        return Verdict(StepStatus.PASSED, _("wrote {path}").format(path=shown))


def drift_of_config(ctx: StepContext, found: str, included: list[str],
                    diff: list[str]) -> Drift:
    """A keepalived configuration that is not byte for byte the chapter's: the same when it
    configures the same (includes in place); else the diff against what keepalived reads."""
    path = ctx.bound.text("path")
    split = _(", split across {n} files ({files})").format(
        n=len(included) + 1, files=", ".join(included)) if included else ""
    try:
        same = kc.canonical(kc.parse(found)) == kc.canonical(kc.parse(ctx.bound.script))
    except LabguideError as exc:
        return Drift("differs", tuple(diff),
                     _("cannot parse it: {error}").format(error=exc.message))
    if same:
        return Drift("same", tuple(diff), _("the same configuration") + (
            split or _(" (only comments, spacing or order differ)")))
    if not included:
        return Drift("differs", tuple(diff))
    inlined = [ctx.redact(line) for line in difflib.unified_diff(
        found.splitlines(), ctx.bound.script.splitlines(),
        fromfile=f"{path} (includes in place)", tofile=path, lineterm="")]
    return Drift("differs", tuple(inlined),
                 _("compared as keepalived reads it{split}").format(split=split))


KIND = FileKind()
