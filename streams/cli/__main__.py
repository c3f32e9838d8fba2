"""`python -m streams.cli`: the `aispm` command (what the tests and the demo runner start)."""

import logging
import logging.config
import os

from streams.cli import main
from streams.runtime.logs import logging_config

_json_logs = logging_config(os.environ.get("AISPM_LOG_FORMAT", "text"), "INFO")
if _json_logs:
    logging.config.dictConfig(_json_logs)
else:
    logging.basicConfig(level=logging.INFO)
main(prog_name="aispm")
