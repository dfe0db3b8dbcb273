"""Which estimator track is which person: the person-mapping file and its application.

Monocular trackers number people per video (PHALP track 3 in one video may be track 12 in the
next), while the neutral motion format needs person `p` to be the same person in every file of a
capture. A person-mapping file says, per video stem, which track id is which person index:

    {"cam00": {"3": 0, "7": 1},
     "cam01": {"12": 0, "2": 1, "15": 1}}

Several tracks may map to the same person (a tracker that lost and re-found someone), as long as
they never overlap in time. Tracks of a video that the file does not list are dropped. Every video
gets `1 + max(person index in the whole file)` people, so all files of a capture agree on `P`.
Without a mapping file, a video's tracks are its people, in the order the importer lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

PersonMapping = dict[str, dict[str, int]]
"""{video_stem: {track_id: person_index}}; track ids are strings (JSON object keys)."""


class PersonMappingError(ValueError):
    """A person-mapping file is malformed or does not fit the tracks it is applied to."""


@dataclass(frozen=True)
class PersonAssignment:
    """How one video's tracks became person indices."""

    person_of_track: dict[str, int]
    """Track id → person index, for the tracks that are kept."""
    num_people: int
    """P of the imported track."""
    dropped: tuple[str, ...]
    """Track ids present in the file but not in the mapping (not imported)."""
    from_mapping: bool
    """False when the importer's track order was used because no mapping was given."""

    def describe(self) -> str:
        """One line for reports, e.g. `tracks 3->0, 7->1 (mapping); dropped 9`."""
        pairs = ", ".join(f"{tid}->{p}" for tid, p in self.person_of_track.items()) or "none"
        text = f"tracks {pairs} ({'mapping' if self.from_mapping else 'track order, no mapping given'})"
        if self.dropped:
            text += f"; dropped {', '.join(self.dropped)}"
        return text


def load_person_mapping(path: Union[str, Path]) -> PersonMapping:
    """Reads and validates a person-mapping JSON file; errors name the file and the entry."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise PersonMappingError(f"{path}: no such person-mapping file") from err
    except ValueError as err:  # json.JSONDecodeError, or UnicodeDecodeError for a file that is not text
        raise PersonMappingError(f"{path}: not valid JSON ({err})") from err
    return validate_person_mapping(data, source=str(path))


def validate_person_mapping(data: object, source: str = "<memory>") -> PersonMapping:
    """Checks `{video_stem: {track_id: person_index >= 0}}` and normalises track ids to strings."""
    if not isinstance(data, Mapping) or not data:
        raise PersonMappingError(f"{source}: expected a non-empty JSON object {{video_stem: {{track_id: person_index}}}}")
    mapping: PersonMapping = {}
    for video, tracks in data.items():
        if not isinstance(tracks, Mapping):
            raise PersonMappingError(f"{source}: entry '{video}': expected an object {{track_id: person_index}}, got {tracks!r}")
        mapping[str(video)] = {}
        for track_id, person in tracks.items():
            # bool is an int subclass; `true` as a person index is a typo, not person 1.
            if isinstance(person, bool) or not isinstance(person, int) or person < 0:
                raise PersonMappingError(
                    f"{source}: entry '{video}', track '{track_id}': person index must be an integer >= 0, got {person!r}"
                )
            mapping[str(video)][normalize_track_id(track_id)] = person
    return mapping


def normalize_track_id(track_id: object) -> str:
    """Track ids as strings: `7`, `np.int64(7)`, `"7"` and `"007"` are all `"7"`."""
    text = str(track_id).strip()
    try:
        return str(int(text))
    except ValueError:
        return text


def assign_people(
    video: str,
    track_ids: Sequence[object],
    mapping: Optional[PersonMapping] = None,
    source: str = "<memory>",
) -> PersonAssignment:
    """Person index of each track of `video`.

    Args:
        video: the video stem, looked up in `mapping`.
        track_ids: the file's tracks, in the importer's order (used when `mapping` is None).
        mapping: from `load_person_mapping`; None keeps every track as its own person.
        source: the motion file, for error messages.
    """
    ids = [normalize_track_id(t) for t in track_ids]
    if len(set(ids)) != len(ids):
        raise PersonMappingError(f"{source}: duplicate track ids {ids}")
    if mapping is None:
        if not ids:
            raise PersonMappingError(f"{source}: no tracks to import")
        return PersonAssignment({tid: p for p, tid in enumerate(ids)}, len(ids), (), from_mapping=False)
    if video not in mapping:
        raise PersonMappingError(
            f"{source}: video '{video}' is not in the person mapping (it lists {sorted(mapping)}); "
            "add it, or import with --name set to one of those stems"
        )
    wanted = mapping[video]
    num_people = 1 + max((p for tracks in mapping.values() for p in tracks.values()), default=-1)
    kept = {tid: wanted[tid] for tid in ids if tid in wanted}
    if not kept:
        raise PersonMappingError(
            f"{source}: none of the file's tracks {ids} appear in the person mapping for '{video}' (it lists {sorted(wanted)})"
        )
    dropped = tuple(tid for tid in ids if tid not in wanted)
    return PersonAssignment(kept, num_people, dropped, from_mapping=True)
