"""`python -m bot` is `newsbot`. `main` is the console script: it imports nothing before it can catch
Ctrl-C, so an interrupt while Python loads the rest is one line too, like one at any later moment."""

import sys

INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)


def forget_interrupt() -> None:
    """Call where a KeyboardInterrupt is handled: CPython remembers one that ended a string exec (a dataclass
    or namedtuple made by a lazy import) and, under `python -m`, exits by SIGINT despite our 130; an exec resets it."""
    exec("pass")


def ignore_late_interrupts() -> None:
    """Once the command has ended: Python's shutdown puts back the default SIGINT handler, so a Ctrl-C in
    its last moments would end a finished command by the signal, with no word; ignored, it changes nothing."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def main() -> None:
    try:
        from bot.faces.cli import cli

        cli(prog_name="newsbot")
    except KeyboardInterrupt:
        forget_interrupt()  # else the exit can be by SIGINT, not 130
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(INTERRUPTED) from None
    finally:
        ignore_late_interrupts()


if __name__ == "__main__":
    main()
