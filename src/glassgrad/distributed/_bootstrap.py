"""One rank of a job started by ``glassgrad.distributed.run``: run the user's script as
``__main__`` under the launcher's watch.

The rank keeps a connection to the launcher (at MASTER_ADDR:MASTER_PORT). A rank that fails says
so before it exits; a rank that dies says nothing, and its connection closing says it instead.
Either way the launcher tells every other rank to stop, and each one prints why and exits
non-zero at once, instead of waiting forever inside a collective for a peer that is gone.
"""

from __future__ import annotations

import os
import runpy
import signal
import socket
import sys
import threading
import traceback

_conn: list = []


def _rank() -> str:
    return os.environ.get("RANK", "?")


def _say(line: str) -> None:
    if _conn:
        try:
            _conn[0].sendall((line.replace("\n", " ") + "\n").encode())
        except OSError:
            pass


def _listen(sock: socket.socket) -> None:
    """Wait for the launcher's word; stop this process when it says another rank failed."""
    reader = sock.makefile("r", encoding="utf-8", errors="replace")
    for line in reader:
        if line.startswith("abort "):
            _stop(line[len("abort ") :].strip())
    _stop("lost the connection to the launcher (glassgrad.distributed.run ended)")


def _stop(why: str) -> None:
    _say(f"stopped {why}")
    sys.stderr.write(f"[rank{_rank()}]: glassgrad.distributed: this rank stops: {why}\n")
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(1)  # the main thread may be blocked inside MPI; only _exit ends it from here


def attach() -> None:
    """Connect to the launcher and listen for its word on a daemon thread."""
    addr, port = os.environ.get("MASTER_ADDR"), os.environ.get("GLASSGRAD_WATCH_PORT")
    if not addr or not port:
        return
    sock = socket.create_connection((addr, int(port)), timeout=60)
    sock.settimeout(None)
    _conn.append(sock)
    _say(f"hello {_rank()} {os.getpid()} {socket.gethostname()}")
    threading.Thread(target=_listen, args=(sock,), daemon=True, name="glassgrad-watch").start()


def _exit_code(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    """Run ``argv`` (``script.py args`` or ``-m module args``) as this rank's program."""
    as_module = argv[0] == "-m"
    target, args = (argv[1], argv[2:]) if as_module else (argv[0], argv[1:])
    sys.argv = [target, *args]
    if hasattr(signal, "SIGUSR1"):
        # MPICH's launcher signals the survivors of a dead rank with SIGUSR1, whose default
        # action kills them silently; the launcher's word stops them with a message instead
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    attach()
    try:
        if as_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        code = _exit_code(exc.code)
        if code:
            _fail(f"exited with status {code}", code)
    except BaseException as exc:  # noqa: BLE001 - every failure ends the job
        _print_user_traceback(exc)
        _fail(f"{type(exc).__name__}: {exc}", 1)
    _say("done")
    return 0


def _print_user_traceback(exc: BaseException) -> None:
    """The traceback as running the script directly shows it: without this file's and runpy's."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in (__file__, "<frozen runpy>"):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)


def _fail(why: str, code: int) -> None:
    """Tell the launcher, then leave without MPI_Finalize (the other ranks are being stopped)."""
    _say(f"fail {why}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
