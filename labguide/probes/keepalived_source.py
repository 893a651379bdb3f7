"""What the VIP watcher runs on a host to learn keepalived's state, and the line protocol of
its output. Only shell text and marker parsing here; the watcher reads, keepalived_state folds.

The command prints, on one channel:

1. the log's recent history (folded into the state found at the start, never replayed as
   if it happened now), then `@active WORD` (whether the service runs now) and the
   configuration between `@conf-begin` and `@conf-end`, then `@history-end`;
2. then, as they come: new log lines; `@active WORD` each time the service's state
   changes (polled every POLL seconds: a stop or a SIGKILL shows within that, whatever the
   log says); the configuration again when keepalived (re)starts or its file changes.

keepalived's own `--signum=DATA`/`JSON` dumps and `vrrp_notify_fifo` were not used: the
first signals the user's daemon and writes files on their host, the second needs their
configuration changed. The configuration is read for its timing only (advert_int,
priority, virtual_ipaddress) and kept in memory: it may hold an `auth_pass`.
"""

from __future__ import annotations

import shlex

HISTORY_END = "@history-end"
CONF_BEGIN = "@conf-begin"
CONF_END = "@conf-end"
ACTIVE = "@active"
#: a line every TICK polls, so that the loop ends (a write fails) soon after the channel
TICK_LINE = "@tick"
TICK = 10
#: seconds between two looks at the service's state
POLL = 0.5
CONF = "/etc/keepalived/keepalived.conf"

#: sudo when it needs no password (for the journal and a config only root may read)
_SUDO = "S=; if [ \"$(id -u)\" != 0 ] && sudo -n true 2>/dev/null; then S='sudo -n'; fi; "


def _command(history: str, follow: str, alive: str, conf: str) -> str:
    """The whole protocol around a log source: `history` prints the past lines (and may set
    variables `follow` uses); `follow` prints new lines until killed; `alive` prints the
    service's state word (systemd's is-active words)."""
    c = shlex.quote(conf)
    return (
        "set +e; export LC_ALL=C; exec 2>&1; " + _SUDO
        + f"conf() {{ echo {CONF_BEGIN}; $S cat {c} 2>/dev/null; echo {CONF_END}; }}; "
        + f"stamp() {{ stat -c %Y {c} 2>/dev/null; }}; "
        + f"alive() {{ {alive}; }}; "
        + f"{history}; "
        + f"a=$(alive); a=${{a:-unknown}}; m=$(stamp); echo \"{ACTIVE} $a\"; conf; "
        + f"echo {HISTORY_END}; "
        + f"{{ {follow}; }} & f=$!; "
        + "trap 'kill $f 2>/dev/null' EXIT HUP INT TERM; trap '' PIPE; "
        + f"i=0; while sleep {POLL}; do "
        + "n=$(alive); n=${n:-unknown}; s=$(stamp); "
        + f"if [ \"$n\" != \"$a\" ]; then echo \"{ACTIVE} $n\" || exit; "
        + "[ \"$n\" = active ] && conf; "
        + "elif [ \"$s\" != \"$m\" ]; then conf; fi; "
        + "a=$n; m=$s; i=$((i + 1)); "
        + f"if [ $i -ge {TICK} ]; then echo {TICK_LINE} || exit; i=0; fi; "
        + "done"
    )


#: keepalived under systemd, as on the chapter's hosts: its journal (200 lines of history,
#: then followed from the same cursor) and `systemctl is-active keepalived` (`not-found`
#: when no keepalived is installed: l4lb-2 before the chapter installs it, the web hosts).
JOURNAL_COMMAND = _command(
    history=(
        "J=\"$S journalctl -u keepalived -o short-unix --no-pager\"; "
        "out=$($J -n 200 --show-cursor 2>/dev/null || true); "
        "printf '%s\\n' \"$out\" | grep -v '^-- cursor: '; "
        "cursor=$(printf '%s\\n' \"$out\" | sed -n 's/^-- cursor: //p' | tail -n 1)"
    ),
    follow=(
        "if [ -n \"$cursor\" ]; then exec $J -f --after-cursor=\"$cursor\"; "
        "else exec $J -f -n 0; fi"
    ),
    alive=("s=$(systemctl is-active keepalived 2>/dev/null); "
           "if [ \"$s\" = inactive ] && [ \"$(systemctl show -p LoadState --value keepalived "
           "2>/dev/null)\" = not-found ]; then s=not-found; fi; echo \"$s\""),
    conf=CONF,
)


def file_log_command(log: str, pidfile: str, conf: str = CONF) -> str:
    """keepalived started by hand (`-l` to a file, `-p PIDFILE`), as in a network namespace
    of this machine: the file's lines so far, then new ones; running while the pid in the
    pid file lives."""
    lg, pf = shlex.quote(log), shlex.quote(pidfile)
    return _command(
        history=f"h=$(wc -l < {lg} 2>/dev/null || echo 0); head -n \"$h\" {lg} 2>/dev/null",
        follow=f"exec tail -n +$((h + 1)) -F {lg} 2>/dev/null",
        alive=(f"if kill -0 \"$(cat {pf} 2>/dev/null)\" 2>/dev/null; then echo active; "
               "else echo inactive; fi"),
        conf=conf,
    )
