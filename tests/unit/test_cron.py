"""rockway.cron: the cron.d format read once for `rockway schedule`, `job validate` and the README."""

from __future__ import annotations

from datetime import datetime, timezone

from rockway.cron import next_runs, parse_cron, rockway_argv


def test_a_cron_d_line_names_its_user() -> None:
    cron = parse_cron("30 19 * * 1-5 cd /opt/x && rockway run evening\n"  # crontab -e syntax: no user
                      "30 19 * * 1-5 rockway rockway run evening\n", "cron.d/x")
    assert [e.line for e in cron.entries] == [2] and cron.entries[0].user == "rockway"
    assert [str(p) for p in cron.problems] == [
        "cron.d/x:1: user: no user field: 'cd' starts the command; cron.d lines name the user: m h dom mon dow user "
        "command"]


def test_reboot_and_unknown_nicknames_are_not_schedules() -> None:
    cron = parse_cron("@reboot root rockway run x\n@Daily root rockway run x\n@daily root rockway run x\n")
    assert [e.schedule for e in cron.entries] == ["@daily"]
    assert [p.line for p in cron.problems] == [1, 2] and all(p.field == "schedule" for p in cron.problems)


def test_without_cron_tz_the_zone_is_the_hosts_and_next_runs_follow_the_start() -> None:
    cron = parse_cron("0 3 * * * root rockway run x\nCRON_TZ=Mars/Olympus\nCRON_TZ=\n0 4 * * * root rockway run y\n")
    assert [e.time_zone for e in cron.entries] == [None, None]
    assert [str(p) for p in cron.problems] == ["cron.d/rockway:2: CRON_TZ: 'Mars/Olympus' is not an IANA time zone"]
    start = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert [t.isoformat() for t in next_runs(cron.entries[0], 2, start)] == ["2026-03-02T03:00:00+00:00",
                                                                          "2026-03-03T03:00:00+00:00"]


def test_commands_calls_lock_and_log() -> None:
    entry = parse_cron("15 5 * * * rockway cd /opt && flock -n /run/lock/m.lock /usr/local/bin/rockway run morning "
                       "--env prod >> /var/log/m.log 2>&1\n").entries[0]
    assert entry.rockway_commands == (("run", "morning", "--env", "prod"),)
    assert (entry.lock_file, entry.log_file) == ("/run/lock/m.lock", "/var/log/m.log")
    assert rockway_argv(entry.command) == ["rockway", "run", "morning", "--env", "prod"]
    assert rockway_argv("echo 'unbalanced") is None
