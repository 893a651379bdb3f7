"""`python -m labguide.sandbox.pve --state DIR --listen ADDR:PORT --machines nspawn|memory`.

Runs the Proxmox VE API emulator until SIGTERM/SIGINT. Writes STATE/ready.json once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from labguide.sandbox.pve.backend import load_machines
from labguide.sandbox.pve.node import Timings
from labguide.sandbox.pve.server import parse_listen, run_forever, serve


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m labguide.sandbox.pve",
                                 description="Proxmox VE API emulator for the sandbox lab")
    ap.add_argument("--state", required=True, type=Path, help="state directory (like /etc/pve)")
    ap.add_argument("--listen", default="198.18.16.2:8006", help="ADDRESS:PORT (port 0: any)")
    ap.add_argument("--machines", choices=("nspawn", "memory"), default="nspawn")
    ap.add_argument("--node", default="node1")
    ap.add_argument("--auth-delay", type=float, default=3.0,
                    help="seconds every 401 answer is delayed (PVE: 3)")
    ap.add_argument("--clone-seconds", type=float, default=Timings.clone_seconds)
    ap.add_argument("--lock-timeout", type=float, default=Timings.lock_timeout)
    ap.add_argument("--boot-delay", type=float, default=0.3,
                    help="memory backend: seconds from start until the guest agent answers")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        ap.error(str(exc))
    machines = load_machines(args.machines, args.state, boot_delay=args.boot_delay)
    timings = Timings(clone_seconds=args.clone_seconds, lock_timeout=args.lock_timeout)

    async def amain() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runner, where = await serve(args.state, host, port, machines, node_name=args.node,
                                    auth_delay=args.auth_delay, timings=timings)
        print(f"listening on {where.url}", flush=True)
        await run_forever(runner, stop)

    asyncio.run(amain())
    return 0


if __name__ == "__main__":
    sys.exit(main())
