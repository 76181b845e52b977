"""Entry point for `python -m jvap`."""

from jvap.cli import main

main()
