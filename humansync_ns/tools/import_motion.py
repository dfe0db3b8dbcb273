"""humansync-import-motion: SLAHMR / WHAM / GVHMR / 4D-Humans-PHALP outputs → neutral motion files.

    humansync-import-motion --tool phalp --input outputs/results --output capture/motion \\
        --fps 30 --person-mapping people.json

Writes `<output>/<video stem>.npz` (docs/formats.md, section 1) per input file and prints one line
each: frames, people, fraction of valid (frame, person) cells and how tracks became people.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from humansync_ns.motion.format import save_motion
from humansync_ns.motion.importers import READERS, find_inputs
from humansync_ns.motion.person_mapping import load_person_mapping
from humansync_ns.tools.cli_errors import UsageError, run_cli


@dataclass
class ImportMotion:
    """Convert a human-motion estimator's output into neutral motion files."""

    tool: Literal["slahmr", "wham", "gvhmr", "phalp"]
    """Which estimator wrote the input."""
    input: Path
    """One output file, or a folder holding the tool's outputs (one file per video)."""
    output: Path
    """Folder for the `<video stem>.npz` neutral motion files."""
    fps: Optional[float] = None
    """Frame rate of the videos (none of the tools stores it; required)."""
    person_mapping: Optional[Path] = None
    """JSON {video_stem: {track_id: person_index}}; without it each file's tracks are its people, in track order."""
    name: Optional[str] = None
    """Video stem of the output (single input file only); derived from the tool's file naming when unset."""
    num_frames: Optional[int] = None
    """Video length in frames (wham, phalp); the last estimated frame + 1 when unset."""
    width: Optional[int] = None
    """Image width in pixels, stored in the motion file (slahmr, wham, gvhmr; phalp reads it from the file)."""
    height: Optional[int] = None
    """Image height in pixels, as --width."""
    focal_length: Optional[float] = None
    """phalp: the video's real focal length in pixels; rescales PHALP's depth to that camera."""
    frame: Literal["incam", "global"] = "incam"
    """gvhmr: camera-frame body, or GVHMR's world body plus per-frame world_to_camera (needs --rest-pelvis)."""
    rest_pelvis: Optional[tuple[float, float, float]] = None
    """gvhmr --frame global: rest pelvis joint of the subject's SMPL-X at zero pose, metres."""
    trust_pickle: bool = False
    """wham, phalp, gvhmr: unpickle any object, which runs any code the file holds (trusted files only); by
    default only containers, numbers, strings and numpy arrays (wham, phalp) or tensors (gvhmr) are read."""

    def main(self) -> None:
        files = find_inputs(self.tool, self.input)
        if self.name is not None and len(files) > 1:
            raise UsageError(f"--name names one video, but {self.input} holds {len(files)} {self.tool} outputs")
        mapping = load_person_mapping(self.person_mapping) if self.person_mapping is not None else None
        names: dict[str, Path] = {}
        for file in files:
            result = READERS[self.tool](file, fps=self.fps, person_mapping=mapping, name=self.name, **self._tool_options())
            track = result.track
            if track.name in names:
                raise UsageError(f"{file} and {names[track.name]} both import as '{track.name}'; import them one by one with --name")
            names[track.name] = file
            out = save_motion(track, self.output / f"{track.name}.npz")
            print(
                f"{out}: {track.num_frames} frames, {track.num_people} people, "
                f"valid {track.valid.mean():.1%}; {result.assignment.describe()}"
            )

    def _tool_options(self) -> dict:
        """The options the chosen tool takes; an option meant for another tool is an error."""
        accepted = {
            "slahmr": {"width", "height"},
            "wham": {"num_frames", "width", "height", "trust_pickle"},
            "gvhmr": {"width", "height", "frame", "rest_pelvis", "trust_pickle"},
            "phalp": {"num_frames", "focal_length", "trust_pickle"},
        }[self.tool]
        defaults = ImportMotion(tool=self.tool, input=self.input, output=self.output)
        options = {}
        for option in ("num_frames", "width", "height", "focal_length", "frame", "rest_pelvis", "trust_pickle"):
            value = getattr(self, option)
            if option in accepted:
                options[option] = value
            elif value != getattr(defaults, option):
                raise UsageError(f"--{option.replace('_', '-')} does not apply to --tool {self.tool}")
        return options


def entrypoint() -> None:
    """Console script `humansync-import-motion`."""
    run_cli("humansync-import-motion", ImportMotion)


if __name__ == "__main__":
    entrypoint()
