"""The installed console scripts run from outside the checkout (they import the installed package,
not the source tree) and the nerfstudio registrations resolve."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"])


@pytest.mark.parametrize("script", SCRIPTS)
def test_console_script_help_runs_outside_checkout(script, tmp_path):
    exe = shutil.which(script) or str(Path(sys.executable).parent / script)
    result = subprocess.run([exe, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage" in result.stdout.lower()


def test_nerfstudio_discovers_methods_and_dataparser():
    code = (
        "from nerfstudio.plugins.registry import discover_methods\n"
        "from nerfstudio.plugins.registry_dataparser import discover_dataparsers\n"
        "methods, _ = discover_methods()\n"
        "parsers, _ = discover_dataparsers()\n"
        "print(sorted(m for m in methods if m.startswith('humansync')), 'humansync-data' in parsers)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "['humansync', 'humansync-small'] True"
