"""`humansync-import-motion`: a folder of tool outputs → neutral files that load back to the known values."""

import json
import subprocess
import sys

import numpy as np
import pytest
from importer_truth import PHALP_NUM_FRAMES as NUM_FRAMES
from importer_truth import SmplTruth, write_phalp_tracks

from humansync_ns.motion.format import load_motion, load_motion_dir
from humansync_ns.motion.importers import find_inputs
from humansync_ns.tools.import_motion import ImportMotion


@pytest.fixture
def phalp_folder(tmp_path):
    rng = np.random.default_rng(21)
    results = tmp_path / "outputs" / "results"
    results.mkdir(parents=True)
    truths = {"cam00": {4: SmplTruth(rng, NUM_FRAMES)}, "cam01": {9: SmplTruth(rng, NUM_FRAMES), 2: SmplTruth(rng, NUM_FRAMES)}}
    write_phalp_tracks(results / "demo_cam00.pkl", truths["cam00"], {4: set(range(NUM_FRAMES))})
    write_phalp_tracks(results / "demo_cam01.pkl", truths["cam01"], {9: set(range(NUM_FRAMES)), 2: {0, 1}})
    mapping = tmp_path / "people.json"
    mapping.write_text(json.dumps({"cam00": {"4": 0}, "cam01": {"9": 0, "2": 1}}))
    return results, mapping, truths


def test_folder_with_mapping(tmp_path, phalp_folder, capsys):
    results, mapping, truths = phalp_folder
    out = tmp_path / "motion"
    ImportMotion(tool="phalp", input=results, output=out, fps=25.0, person_mapping=mapping).main()
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert "cam00.npz: 6 frames, 2 people, valid 50.0%; tracks 4->0 (mapping)" in lines[0]
    assert "cam01.npz: 6 frames, 2 people, valid 66.7%; tracks 2->1, 9->0 (mapping)" in lines[1]
    tracks = {t.name: t for t in load_motion_dir(out)}  # same P in every file, as the calibration needs
    assert tracks["cam01"].fps == 25.0
    np.testing.assert_allclose(tracks["cam01"].transl[:, 0], truths["cam01"][9].transl, atol=1e-5)
    np.testing.assert_array_equal(tracks["cam01"].valid[:, 1], np.arange(NUM_FRAMES) < 2)


def test_single_file_name_and_option_checks(tmp_path, phalp_folder):
    results, _, truths = phalp_folder
    out = tmp_path / "motion"
    ImportMotion(tool="phalp", input=results / "demo_cam00.pkl", output=out, fps=30.0, name="left").main()
    track = load_motion(out / "left.npz")
    np.testing.assert_allclose(track.global_orient[:, 0], truths["cam00"][4].global_orient, atol=1e-5)
    with pytest.raises(ValueError, match="--name names one video, but .* holds 2 phalp outputs"):
        ImportMotion(tool="phalp", input=results, output=out, fps=30.0, name="left").main()
    with pytest.raises(ValueError, match="--rest-pelvis does not apply to --tool phalp"):
        ImportMotion(tool="phalp", input=results, output=out, fps=30.0, rest_pelvis=(0.0, 0.0, 0.0)).main()


def test_slahmr_folder_keeps_last_iteration(tmp_path):
    for it in ("000020", "000120", "000100"):
        (tmp_path / f"dance_{it}_world_results.npz").write_bytes(b"")
    (tmp_path / "dance_000120_prior_results.npz").write_bytes(b"")
    assert [p.name for p in find_inputs("slahmr", tmp_path)] == ["dance_000120_world_results.npz"]


def test_console_script_help():
    """The installed entry point parses its options (tyro builds --help from the docstrings)."""
    proc = subprocess.run(
        [sys.executable, "-c", "from humansync_ns.tools.import_motion import entrypoint; entrypoint()", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--person-mapping" in proc.stdout and "slahmr" in proc.stdout
