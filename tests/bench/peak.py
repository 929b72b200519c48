"""Peak memory of a measured program, for the benchmarks: its VmHWM, read at its own end.

The program runs under a small wrapper in a fresh interpreter (``python -c WRAPPER script args...``,
or ``python -c WRAPPER -c CODE args...``), so the figure is its own address space: unlike
``ru_maxrss`` it does not inherit the benchmark process's footprint through fork. Linux only.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

_WRAPPER = """
import os, runpy, sys
sys.argv = sys.argv[1:]
try:
    if sys.argv[0] == "-c":
        sys.argv = sys.argv[1:]
        exec(compile(sys.argv[0], "<measured>", "exec"), {"__name__": "__main__"})
    else:
        sys.path.insert(0, os.path.dirname(sys.argv[0]))      # as running the script directly would
        runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    if exc.code:
        raise
status = open("/proc/self/status").read()
hwm = [line for line in status.splitlines() if line.startswith("VmHWM")][0]
sys.stderr.write("\\nVMHWM " + hwm.split()[1] + "\\n")
"""


def run_with_peak(command: list[str], env: dict[str, str], cwd: Path | None = None
                  ) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``command`` (an interpreter, then a script or ``-c CODE``, then arguments); return it and its peak RSS
    in KiB. A program that fails, or ends before reporting, raises ``RuntimeError`` with its output."""
    done = subprocess.run([command[0], "-c", _WRAPPER, *command[1:]], env=env, cwd=cwd, capture_output=True,
                          text=True)
    marker = [line for line in done.stderr.splitlines() if line.startswith("VMHWM ")]
    if done.returncode != 0 or not marker:
        raise RuntimeError(f"{command[:3]} failed ({done.returncode}): {done.stdout[-600:]} {done.stderr[-1000:]}")
    return done, int(marker[-1].split()[1])
