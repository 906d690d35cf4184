"""`python -m bot` is `newsbot`."""

from bot.cli import cli

if __name__ == "__main__":
    cli(prog_name="newsbot")
