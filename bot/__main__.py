"""`python -m bot` is `newsbot`. `main` is the console script: it imports nothing before it can catch
Ctrl-C, so an interrupt while Python loads the rest is one line too, like one at any later moment."""

import sys

INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)


def main() -> None:
    try:
        from bot.faces.cli import cli

        cli(prog_name="newsbot")
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(INTERRUPTED) from None


if __name__ == "__main__":
    main()
