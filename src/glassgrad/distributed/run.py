"""The launcher, like torchrun: ``python -m glassgrad.distributed.run --nproc-per-node N x.py``.

It starts N processes through MPI's own launcher (mpiexec) with the variables torchrun gives
(RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, ROLE_RANK, MASTER_ADDR, MASTER_PORT)
and watches them: when one fails or dies, every other rank is told to stop, prints why and exits
non-zero, and the launcher reports each rank and exits non-zero itself, never hanging.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

_SILENT = "died without a word (killed by a signal, or ended in native code)"
_BAD_PID = re.compile(rb"PID (\d+) RUNNING AT")
GRACE_S = 20.0  # how long ranks told to stop may take before mpiexec's processes are killed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glassgrad run",
        description="Start a script on N processes through MPI, with torchrun's variables.",
    )
    parser.add_argument("--nproc-per-node", "--nproc_per_node", type=_nproc, default=1)
    parser.add_argument("--nnodes", type=str, default="1", help="only 1 (one machine)")
    parser.add_argument("--node-rank", "--node_rank", type=int, default=0, help="only 0")
    for name in ("rdzv-backend", "rdzv-endpoint", "rdzv-id", "max-restarts", "monitor-interval"):
        # torchrun's rendezvous and restart options: accepted, one machine needs none of them
        parser.add_argument(f"--{name}", f"--{name.replace('-', '_')}", help=argparse.SUPPRESS)
    parser.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    parser.add_argument("--master-port", "--master_port", type=int, default=0)
    parser.add_argument("--standalone", action="store_true", help="accepted, as torchrun's")
    parser.add_argument("-m", "--module", action="store_true", help="run the target as a module")
    parser.add_argument("--mpiexec", default=None, help="MPI's launcher (default: found by name)")
    parser.add_argument("script", help="the training script (or module, with -m)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    return parser


def _nproc(text: str) -> int:
    """A count, or torchrun's "auto"/"cpu" (one process per core here: there are no GPUs)."""
    if text in ("auto", "cpu"):
        return os.cpu_count() or 1
    return int(text)


def find_mpiexec(given: str | None = None) -> str:
    """MPI's launcher: the one installed beside this Python first (the PyPI wheels put it there)."""
    if given:
        return given
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if not found:
        raise SystemExit(
            "glassgrad run: no mpiexec found; install MPI with `pip install glassgrad[distributed]`"
        )
    return found


def _flavour(mpiexec: str) -> str:
    out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    return "openmpi" if ("Open MPI" in text or "OpenRTE" in text or "PRRTE" in text) else "mpich"


def rank_env(rank: int, nproc: int, addr: str, port: int) -> dict:
    """The variables torchrun gives rank ``rank`` of a one-machine job."""
    return {
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "GROUP_RANK": "0",
        "ROLE_RANK": str(rank),
        "ROLE_NAME": "default",
        "WORLD_SIZE": str(nproc),
        "LOCAL_WORLD_SIZE": str(nproc),
        "GROUP_WORLD_SIZE": "1",
        "ROLE_WORLD_SIZE": str(nproc),
        "MASTER_ADDR": addr,
        "MASTER_PORT": str(port),
        "TORCHELASTIC_RESTART_COUNT": "0",
        "TORCHELASTIC_MAX_RESTARTS": "0",
        "TORCHELASTIC_RUN_ID": "none",  # torchrun's default --rdzv-id: is_torchelastic_launched()
        "GLASSGRAD_WATCH_PORT": str(port),
    }


def command(args, port: int) -> tuple[list[str], dict]:
    """The mpiexec command line (one MPMD block per rank, each with its variables) and its env."""
    mpiexec = find_mpiexec(args.mpiexec)
    flavour = _flavour(mpiexec)
    env = dict(os.environ)
    if args.nproc_per_node > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = "1"  # torchrun's default too: one thread per process
    if flavour == "openmpi":
        # root in containers and more processes than cores are both fine for this launcher
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        cmd = [mpiexec, "--oversubscribe", "--bind-to", "none"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
    else:
        # the launcher, not mpiexec, stops the others when a rank dies, so each can say why
        cmd = [mpiexec, "-disable-auto-cleanup"]
    target = ["-m", args.script] if args.module else [args.script]
    program = [sys.executable, "-u", "-m", "glassgrad.distributed._bootstrap", *target, *args.args]
    for rank in range(args.nproc_per_node):
        if rank:
            cmd.append(":")
        cmd += ["-n", "1"]
        for key, value in rank_env(rank, args.nproc_per_node, args.master_addr, port).items():
            cmd += ["-x", f"{key}={value}"] if flavour == "openmpi" else ["-env", key, value]
        cmd += program
    return cmd, env


class Watch:
    """The launcher's side of the ranks' connections: who said hello, who finished, who failed."""

    def __init__(self, server: socket.socket) -> None:
        self.server = server
        self.conns: dict = {}  # rank -> socket
        self.pids: dict = {}
        self.done: set = set()
        self.failed: dict = {}  # rank -> why
        self.stopped: set = set()  # ranks that stopped when told another had failed
        self.bad_pid = None  # the pid mpiexec reports as the first to terminate badly
        self.lock = threading.Lock()
        self.failure = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        rank = None
        try:
            for line in conn.makefile("r", encoding="utf-8", errors="replace"):
                word, _, rest = line.strip().partition(" ")
                if word == "hello":
                    rank, pid, *_ = rest.split()
                    with self.lock:
                        self.conns[rank], self.pids[rank] = conn, pid
                elif word == "done" and rank is not None:
                    self.done.add(rank)
                elif word == "fail" and rank is not None:
                    self._failed(rank, rest)
                elif word == "stopped" and rank is not None:
                    self.stopped.add(rank)
        except OSError:
            pass  # a connection reset is a rank gone, as a closed one is
        ended = self.done | self.stopped | set(self.failed)
        if rank is not None and rank not in ended and not self.failure.is_set():
            self._failed(rank, _SILENT)

    def _failed(self, rank: str, why: str) -> None:
        with self.lock:
            first = not self.failed
            self.failed[rank] = why
            others = [(r, c) for r, c in self.conns.items() if r != rank and r not in self.failed]
        if first:
            note = f"abort rank {rank} (pid {self.pids.get(rank)}) failed: {why}\n"
            for _, conn in others:
                try:
                    conn.sendall(note.encode())
                except OSError:
                    pass
        self.failure.set()


def run(args) -> int:
    """Start the job, watch it, and return its exit status (non-zero when any rank failed)."""
    server = socket.create_server((args.master_addr, args.master_port))
    port = server.getsockname()[1]
    watch = Watch(server)
    cmd, env = command(args, port)
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.PIPE)
    relay = threading.Thread(target=_relay, args=(proc.stdout, watch), daemon=True)
    relay.start()
    _forward_signals(proc)
    deadline = None
    while proc.poll() is None:
        if watch.failure.is_set() and deadline is None:
            deadline = time.monotonic() + GRACE_S
        if deadline is not None and time.monotonic() > deadline:
            _kill(proc)
        time.sleep(0.05)
    relay.join(timeout=5)
    time.sleep(0.2)  # let the last connections' closing be read
    server.close()
    return _report(watch, proc.returncode, args.nproc_per_node)


def _relay(stream, watch: Watch) -> None:
    """Pass mpiexec's output through, noting the pid it names as the first to terminate badly."""
    for line in iter(stream.readline, b""):
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
        found = _BAD_PID.search(line)
        if found and watch.bad_pid is None:
            watch.bad_pid = found.group(1).decode()


def _culprits(watch: Watch) -> None:
    """Ranks that died silently together: the one mpiexec names died first, MPI ended the rest."""
    silent = [r for r, why in watch.failed.items() if why == _SILENT]
    named = [r for r in silent if watch.pids.get(r) == watch.bad_pid]
    if len(silent) > 1 and named:
        for rank in silent:
            if rank not in named:
                del watch.failed[rank]
        watch.failed = {named[0]: _SILENT, **watch.failed}


def _report(watch: Watch, code: int, nproc: int) -> int:
    if not watch.failed and code == 0:
        return 0
    _culprits(watch)
    first = next(iter(watch.failed), "?")
    for rank in [str(r) for r in range(nproc)]:
        pid = watch.pids.get(rank, "?")
        if rank in watch.failed:
            why = f"failed: {_short(watch.failed[rank])}"
        elif rank in watch.done:
            why = "finished"
        elif rank in watch.stopped:
            why = f"stopped because rank {first} failed (exit status 1)"
        elif watch.failed:
            why = f"was ended by MPI after rank {first} failed"
        else:
            why = "never reported (it did not start, or mpiexec ended it)"
        print(f"glassgrad run: rank {rank} (pid {pid}) {why}", file=sys.stderr, flush=True)
    status = code if code not in (0, None) else 1
    print(f"glassgrad run: the job failed (mpiexec exit status {code})", file=sys.stderr)
    return status if 0 < status < 256 else 1


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kill(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def _forward_signals(proc: subprocess.Popen) -> None:
    def forward(sig, frame):
        _kill(proc)
        raise SystemExit(128 + sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, forward)
        except ValueError:  # not the main thread
            pass


def main(argv: list[str] | None = None) -> int:
    """``python -m glassgrad.distributed.run [options] script.py [args]``."""
    args = _parser().parse_args(argv)
    if args.nnodes not in ("1", "1:1") or args.node_rank != 0:
        raise SystemExit("glassgrad run: only one machine (--nnodes 1) is supported")
    if args.nproc_per_node < 1:
        raise SystemExit("glassgrad run: --nproc-per-node must be at least 1")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
