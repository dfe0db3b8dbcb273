"""`humansync-data` is discoverable by nerfstudio, and the datamanager config takes it as default."""

import subprocess
import sys

import pytest

from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParser, HumanSyncDataParserConfig


def test_discover_dataparsers_lists_humansync_data():
    from nerfstudio.plugins.registry_dataparser import discover_dataparsers

    configs, _ = discover_dataparsers()
    assert isinstance(configs.get("humansync-data"), HumanSyncDataParserConfig), sorted(configs)
    assert HumanSyncDataParser.includes_time is True


@pytest.mark.slow
def test_datamanager_imports_first_in_a_fresh_interpreter():
    """Importing the datamanager first triggers nerfstudio's dataparser discovery mid-import; the
    entry point must not close an import cycle (it would break every ns-train)."""
    code = (
        "from humansync_ns.dataparser.humansync_datamanager import HumanSyncDataManagerConfig as C\n"
        "from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig as P\n"
        "assert isinstance(C().dataparser, P)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
