"""`python -m streams.cli`: the `aispm` command (what the tests and the demo runner start)."""

import logging

from streams.cli import main

logging.basicConfig(level=logging.INFO)
main(prog_name="aispm")
