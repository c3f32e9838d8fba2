"""The streaming processes collect the young generation rarely and never walk what start-up made."""

import subprocess
import sys


def test_tuning_raises_the_young_threshold_and_freezes_startup_objects():
    # In a child process: the test process's own collector settings stay as pytest expects them.
    code = (
        "import gc\n"
        "from streams.runtime.gc_tuning import YOUNG_THRESHOLD, tune_for_streaming\n"
        "before = gc.get_freeze_count()\n"
        "tune_for_streaming()\n"
        "assert gc.get_threshold()[0] == YOUNG_THRESHOLD, gc.get_threshold()\n"
        "assert gc.get_freeze_count() > before + 1000, gc.get_freeze_count()\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
