"""GTFS checks: each class of error on a corrupted copy of the reference sample feed."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date

import numpy as np
import pytest

from shancheng.data.gtfs import busiest_day, read_gtfs, service_ids_on
from shancheng.data.transit import compile_feed
from shancheng.errors import GtfsError

pytestmark = pytest.mark.data


@pytest.fixture
def sample(transit_data, tmp_path):
    """The GTFS reference sample feed, unpacked into a folder the test may corrupt."""
    folder = tmp_path / "feed"
    with zipfile.ZipFile(transit_data / "sample_gtfs.zip") as archive:
        archive.extractall(folder)
    return folder


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(folder):
    with pytest.raises(GtfsError) as caught:
        read_gtfs(folder)
    return [str(p) for p in caught.value.problems], str(caught.value)


def test_the_shared_feeds_read_clean(transit_data):
    for name in ("sample_gtfs.zip", "nyc_subway_gtfs.zip", "cairns_gtfs.zip"):
        feed = read_gtfs(transit_data / name)
        assert len(feed.stops) > 0


def test_a_missing_required_file_is_named(sample):
    (sample / "agency.txt").unlink()
    problems, message = _problems(sample)
    assert problems == ["agency.txt: required file is missing"]
    assert "1 problem(s) in the GTFS feed" in message


def test_a_missing_calendar_needs_one_of_the_two(sample):
    (sample / "calendar.txt").unlink()
    (sample / "calendar_dates.txt").unlink()
    problems, _ = _problems(sample)
    assert (
        "calendar.txt: required file is missing (a feed needs calendar.txt or "
        "calendar_dates.txt)" in problems
    )
    assert any(
        p.startswith("trips.txt: line 2: field `service_id`: trip 'AB1' has no service")
        for p in problems
    )


def test_a_missing_required_field_and_an_empty_value_are_named(sample):
    _edit(sample / "routes.txt", "route_url,route_color", "route_link,route_color")
    _edit(sample / "routes.txt", ",route_type,", ",kind,")
    _edit(sample / "stop_times.txt", "CITY1,6:05:00,6:07:00,NANAA,2", "CITY1,6:05:00,6:07:00,,2")
    problems, _ = _problems(sample)
    assert "routes.txt: field `route_type`: required field is missing" in problems
    assert "stop_times.txt: line 5: field `stop_id`: required value is empty" in problems


def test_stop_times_out_of_order_name_the_line(sample):
    _edit(
        sample / "stop_times.txt", "CITY1,6:12:00,6:14:00,NADAV,3", "CITY1,6:02:00,6:14:00,NADAV,3"
    )
    _edit(sample / "stop_times.txt", "CITY2,6:35:00,6:37:00", "CITY2,6:38:00,6:37:00")
    problems, _ = _problems(sample)
    assert problems == [
        (
            "stop_times.txt: line 6: field `arrival_time`: trip 'CITY1' arrives here before it "
            "left the stop before (stop_times out of order by stop_sequence)"
        ),
        (
            "stop_times.txt: line 10: field `departure_time`: departure before arrival at the "
            "same stop"
        ),
    ]


def test_a_repeated_stop_sequence_and_a_malformed_time(sample):
    _edit(sample / "stop_times.txt", "CITY1,6:12:00,6:14:00,NADAV,3", "CITY1,6h12,6:14:00,NADAV,2")
    problems, _ = _problems(sample)
    assert (
        "stop_times.txt: line 6: field `arrival_time`: '6h12' is not a time H:MM:SS (e.g. "
        "7:05:00 or 25:10:00 past midnight)" in problems
    )
    assert (
        "stop_times.txt: line 6: field `stop_sequence`: 2 is repeated within its trip" in problems
    )


def test_trips_without_service_are_named(sample):
    _edit(sample / "trips.txt", "AB,FULLW,AB2", "AB,NEVER,AB2")
    problems, _ = _problems(sample)
    assert problems == [
        (
            "trips.txt: line 3: field `service_id`: trip 'AB2' has no service: service_id "
            "'NEVER' is in neither calendar.txt nor calendar_dates.txt"
        )
    ]


def test_unknown_stops_trips_and_routes_are_named(sample):
    _edit(sample / "stop_times.txt", "CITY2,6:28:00,6:30:00,EMSI", "CITY2,6:28:00,6:30:00,NOWHERE")
    _edit(sample / "trips.txt", "CITY,FULLW,CITY1", "TRAM,FULLW,CITY1")
    problems, _ = _problems(sample)
    assert problems == [
        "stop_times.txt: line 9: field `stop_id`: unknown stop (not in stops.txt) 'NOWHERE'",
        "trips.txt: line 5: field `route_id`: unknown route (not in routes.txt) 'TRAM'",
    ]


def test_times_past_midnight_are_kept(sample):
    text = (sample / "stop_times.txt").read_text(encoding="utf-8")
    text = text.replace("STBA,6:00:00,6:00:00", "STBA,24:50:00,24:50:00")
    text = text.replace("STBA,6:20:00,6:20:00", "STBA,25:10:00,25:10:00")
    (sample / "stop_times.txt").write_text(text, encoding="utf-8")
    (sample / "frequencies.txt").unlink()
    feed = read_gtfs(sample)
    compiled = compile_feed(feed, day=date(2007, 1, 1))
    trip = compiled.trips[compiled.trips["trip_id"] == "STBA"]
    assert trip["departure_s"].tolist() == [24 * 3600 + 50 * 60]
    tt = compiled.timetable
    assert int(tt.arrival_s.max()) == 25 * 3600 + 10 * 60  # 90,600 s, not wrapped to 01:10


def test_service_day_and_frequencies(sample):
    feed = read_gtfs(sample)
    assert service_ids_on(feed, date(2007, 6, 5)) == {"FULLW"}  # a Tuesday
    assert service_ids_on(feed, date(2007, 6, 4)) == set()  # calendar_dates removes FULLW
    assert busiest_day(feed) == date(2007, 1, 6)  # a Saturday: FULLW and WE both run
    compiled = compile_feed(feed, day=date(2007, 1, 1))
    copies = compiled.trips[compiled.trips["trip_id"].str.startswith("STBA@")]
    # STBA every 30 min from 6:00 to 22:00 (end excluded): 32 departures
    assert len(copies) == 32
    assert copies["departure_s"].min() == 6 * 3600


def test_an_unreadable_path_is_named(tmp_path):
    with pytest.raises(GtfsError, match="no such GTFS feed"):
        read_gtfs(tmp_path / "absent.zip")
    shutil.rmtree(tmp_path)


def test_untimed_stops_are_interpolated_along_the_trip(sample):
    # CITY1 calls at NANAA (6:05/6:07) and NADAV (6:12/6:14): blank NADAV's times
    _edit(sample / "stop_times.txt", "CITY1,6:12:00,6:14:00,NADAV", "CITY1,,,NADAV")
    (sample / "frequencies.txt").unlink()
    compiled = compile_feed(read_gtfs(sample), day=date(2007, 1, 1))
    tt = compiled.timetable
    nadav = int(compiled.stop_index(["NADAV"])[0])
    city1 = int(compiled.trips.index[compiled.trips["trip_id"] == "CITY1"][0])
    slot = int(np.flatnonzero(tt.pattern_trips == city1)[0])
    pattern = int(np.searchsorted(tt.pattern_trip_ptr, slot, side="right") - 1)
    stops = tt.pattern_stops[tt.pattern_stop_ptr[pattern] : tt.pattern_stop_ptr[pattern + 1]]
    i = int(np.flatnonzero(stops == nadav)[0])
    j = slot - int(tt.pattern_trip_ptr[pattern])
    at = int(tt.pattern_time_ptr[pattern]) + j * stops.shape[0] + i
    # halfway between leaving NANAA (6:07) and reaching DADAN (6:19)
    assert tt.arrival_s[at] == tt.departure_s[at] == 6 * 3600 + 13 * 60


def test_an_untimed_first_stop_is_refused(sample):
    _edit(sample / "stop_times.txt", "CITY1,6:00:00,6:00:00,STAGECOACH", "CITY1,,,STAGECOACH")
    problems, _ = _problems(sample)
    assert problems == [
        (
            "stop_times.txt: line 4: field `arrival_time`: the first and the last stop of a trip "
            "need a time"
        )
    ]
