"""Importers: monocular human-motion estimator outputs → neutral motion tracks (`MotionTrack`).

One module per estimator; each has `read_<tool>(path, fps=..., person_mapping=..., ...)` returning
`ImportedMotion(track, assignment)` and `load_<tool>(...)` returning the track only. `find_inputs`
lists the files of one tool under a folder, as the CLI `humansync-import-motion` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Literal, Union

from humansync_ns.motion.importers.common import ImportedMotion, ImporterFormatError
from humansync_ns.motion.importers.gvhmr import load_gvhmr, read_gvhmr
from humansync_ns.motion.importers.phalp import load_phalp, read_phalp
from humansync_ns.motion.importers.slahmr import RESULTS_PATTERN, load_slahmr, read_slahmr
from humansync_ns.motion.importers.wham import load_wham, read_wham

Tool = Literal["slahmr", "wham", "gvhmr", "phalp"]

READERS: dict[str, Callable[..., ImportedMotion]] = {
    "slahmr": read_slahmr,
    "wham": read_wham,
    "gvhmr": read_gvhmr,
    "phalp": read_phalp,
}

_GLOBS = {
    "slahmr": "*_world_results.npz",
    "wham": "**/wham_output.pkl",
    "gvhmr": "**/hmr4d_results.pt",
    "phalp": "*.pkl",
}


def find_inputs(tool: Tool, path: Union[str, Path]) -> list[Path]:
    """The files to import: `path` itself if it is a file, else the tool's files in the folder.

    SLAHMR writes one results file per saved iteration into each phase folder (pass the phase
    folder, e.g. `motion_chunks/`); only the last iteration of each sequence is kept. PHALP
    results are the `*.pkl` files of the folder (its `results/`); WHAM and GVHMR outputs are
    found in the per-video subfolders.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    files = sorted(path.glob(_GLOBS[tool]))
    if tool == "slahmr":
        latest: dict[str, Path] = {}
        for file in files:
            match = RESULTS_PATTERN.match(file.stem)
            seq = match.group("seq") if match else file.stem
            if seq not in latest or file.stem > latest[seq].stem:  # zero-padded iterations sort as text
                latest[seq] = file
        files = sorted(latest.values())
    if not files:
        raise FileNotFoundError(f"{path}: no {tool} output found (looked for {_GLOBS[tool]})")
    return files


__all__ = [
    "READERS",
    "ImportedMotion",
    "ImporterFormatError",
    "Tool",
    "find_inputs",
    "load_gvhmr",
    "load_phalp",
    "load_slahmr",
    "load_wham",
    "read_gvhmr",
    "read_phalp",
    "read_slahmr",
    "read_wham",
]
