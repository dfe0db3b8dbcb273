import json

import numpy as np
import pytest

from humansync_ns.motion.person_mapping import (
    PersonMappingError,
    assign_people,
    load_person_mapping,
    normalize_track_id,
    validate_person_mapping,
)


def write(tmp_path, data, name="people.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_load_normalises_track_ids(tmp_path):
    mapping = load_person_mapping(write(tmp_path, {"cam00": {"003": 0, "7": 1}, "cam01": {"12": 1}}))
    assert mapping == {"cam00": {"3": 0, "7": 1}, "cam01": {"12": 1}}


@pytest.mark.parametrize(
    "data, message",
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "expected a non-empty JSON object"),
        ({}, "expected a non-empty JSON object"),
        ({"cam00": [0, 1]}, "entry 'cam00': expected an object"),
        ({"cam00": {"3": -1}}, "entry 'cam00', track '3': person index must be an integer >= 0"),
        ({"cam00": {"3": True}}, "track '3': person index must be an integer"),
        ({"cam00": {"3": 1.5}}, "track '3': person index must be an integer"),
    ],
)
def test_malformed_files_are_named(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(PersonMappingError, match=message) as err:
        load_person_mapping(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(PersonMappingError, match="no such person-mapping file"):
        load_person_mapping(tmp_path / "nope.json")


def test_without_mapping_track_order_is_used():
    assignment = assign_people("cam00", [np.int64(9), 2, "5"])
    assert assignment.person_of_track == {"9": 0, "2": 1, "5": 2}
    assert assignment.num_people == 3 and not assignment.from_mapping
    assert "track order, no mapping given" in assignment.describe()


def test_mapping_sets_people_count_for_the_whole_capture():
    mapping = validate_person_mapping({"cam00": {"3": 0}, "cam01": {"12": 0, "4": 2}})
    assignment = assign_people("cam00", [3, 8], mapping)
    assert assignment.person_of_track == {"3": 0}
    assert assignment.num_people == 3  # person 2 exists in cam01, so cam00 has P = 3 as well
    assert assignment.dropped == ("8",)
    assert assignment.describe() == "tracks 3->0 (mapping); dropped 8"


def test_mapping_errors_name_video_and_tracks():
    mapping = validate_person_mapping({"cam00": {"3": 0}})
    with pytest.raises(PersonMappingError, match=r"motion.pkl: video 'cam09' is not in the person mapping \(it lists \['cam00'\]\)"):
        assign_people("cam09", [3], mapping, source="motion.pkl")
    with pytest.raises(PersonMappingError, match=r"none of the file's tracks \['5'\] appear"):
        assign_people("cam00", [5], mapping)
    with pytest.raises(PersonMappingError, match="duplicate track ids"):
        assign_people("cam00", [3, "003"], mapping)


@pytest.mark.parametrize("raw, expected", [(7, "7"), (np.int64(7), "7"), ("007", "7"), (" 7 ", "7"), ("track_a", "track_a")])
def test_normalize_track_id(raw, expected):
    assert normalize_track_id(raw) == expected


def test_file_that_is_not_text_is_named(tmp_path):
    path = tmp_path / "people.json"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(PersonMappingError, match="not valid JSON") as err:
        load_person_mapping(path)
    assert str(path) in str(err.value)
