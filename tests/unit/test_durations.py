"""rockway.durations: one grammar for job specs, check files, jobs.toml and MV declarations."""

from __future__ import annotations

import pytest

from rockway.durations import format_duration, parse_duration, positive_duration


@pytest.mark.parametrize("text, seconds", [
    ("90", 90), ("1.5", 1.5), (30, 30), (0, 0), ("0s", 0),  # numbers are seconds; zero is a duration
    ("90s", 90), ("90 sec", 90), ("15m", 900), ("15 MIN", 900), ("2h", 7200), ("1.5d", 129600),  # one unit
    ("26h", 93600), ("1d12h30m15s", 131415), ("1h 30m", 5400), (" 2h ", 7200),  # several, days to seconds
])
def test_every_form_the_files_use(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "h", "-5m", "2 weeks", "5ms", "30m2h", -1, True, None, float("inf")])
def test_what_is_not_a_duration(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_a_limit_must_be_positive_and_durations_read_as_people_write_them() -> None:
    assert positive_duration("15m") == 900
    for zero in (0, "0", "0s"):
        with pytest.raises(ValueError, match="must be positive"):
            positive_duration(zero)
    assert [format_duration(s) for s in (12, 250, 7500, 90000, -61, None)] == ["12s", "4m 10s", "2h 05m", "1d 01h",
                                                                               "-1m 01s", ""]
