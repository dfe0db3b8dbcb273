"""`humansync_ns.calibration` stays pure numpy/scipy: no torch, no nerfstudio (fresh interpreter)."""

import subprocess
import sys

MODULES = [
    "humansync_ns.calibration",
    "humansync_ns.calibration.calibrate",
    "humansync_ns.calibration.errors",
    "humansync_ns.calibration.report",
    "humansync_ns.body.canonical",
]


def test_calibration_imports_no_torch_or_nerfstudio() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'nerfstudio', 'matplotlib', 'smplx'))\n"
        + "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"heavy modules loaded: {result.stdout.strip()}"
