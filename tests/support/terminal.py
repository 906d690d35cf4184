"""Run a command as a person does: in a pseudo-terminal, with a real process and an empty HOME."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

NEWSBOT = [sys.executable, "-m", "bot"]


@dataclass(frozen=True)
class Screen:
    """What the terminal showed, and how the process ended."""

    text: str
    returncode: int


def _as_typed() -> None:
    """A command typed at a shell prompt starts with Ctrl-C's default action, even when the tests themselves
    run where SIGINT is ignored (a background job of a non-interactive shell, as some CI runners start them):
    an ignored SIGINT is inherited through exec, and Python then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a new user: an empty HOME, no newsbot settings, a wide terminal."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEWSBOT_", "TELEGRAM_", "XDG_")) and k not in ("COLUMNS", "LINES")
    }
    env.update(HOME=str(home), TERM="xterm", PYTHONUNBUFFERED="1", **extra)
    return env


def in_terminal(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    typed: str = "",
    wait_for: str = "",
    then_signal: int | None = None,
    timeout: float = 60.0,
    columns: int = 100,
) -> Screen:
    """Run `args` with stdin, stdout and stderr on a pseudo-terminal of `columns` columns. `typed` is typed
    once `wait_for` has appeared (at once when empty); `then_signal` is sent after that. Bounded by
    `timeout`: a process still running then is killed and the test fails on its output."""
    master, slave = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True, preexec_fn=_as_typed
    )
    os.close(slave)
    out = b""
    acted = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not acted and wait_for.encode() in out:
                acted = True
                if typed:
                    os.write(master, typed.encode())
                if then_signal is not None:
                    process.send_signal(then_signal)
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the other side closed: the process has ended
                    break
                if not chunk:
                    break
                out += chunk
            elif process.poll() is not None:
                break
        else:
            process.kill()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        os.close(master)
    return Screen(out.decode("utf-8", "replace").replace("\r\n", "\n"), process.returncode)
