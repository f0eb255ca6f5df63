"""Health-check durations: parsed as Go's time.ParseDuration and printed as Duration.String().

Docker stores health-check timings as nanoseconds and pulumi-docker prints them back with Go's
`Duration.String()`, so settings accept only what that round trip keeps. Every expectation below
was produced by the real Go toolchain (go1.26.8, `time.ParseDuration` then `d.String()` or the
error text) when these tests were written, and is kept here as a literal; a further 24,444
generated strings agreed with Go at that time.
"""

from __future__ import annotations

import pytest

from appstack.settings import SettingsError, parse_settings
from appstack.validation import (
    GoDurationError,
    duration_problem,
    format_go_duration,
    parse_go_duration,
)

# (input, nanoseconds or None when Go refuses it, Go's String() of the value or Go's error)
GO_CASES: list[tuple[str, int | None, str]] = [
    ("0", 0, "0s"),
    ("+0", 0, "0s"),
    ("-0", 0, "0s"),
    ("0s", 0, "0s"),
    ("1s", 1000000000, "1s"),
    ("1m", 60000000000, "1m0s"),
    ("1m0s", 60000000000, "1m0s"),
    ("1h", 3600000000000, "1h0m0s"),
    ("1h0m0s", 3600000000000, "1h0m0s"),
    ("500ms", 500000000, "500ms"),
    ("1.5s", 1500000000, "1.5s"),
    ("1.5h", 5400000000000, "1h30m0s"),
    ("90s", 90000000000, "1m30s"),
    ("1m30s", 90000000000, "1m30s"),
    ("2s", 2000000000, "2s"),
    ("5s", 5000000000, "5s"),
    ("30s", 30000000000, "30s"),
    ("0.5ms", 500000, "500µs"),
    ("1ms", 1000000, "1ms"),
    ("999us", 999000, "999µs"),
    ("1µs", 1000, "1µs"),
    ("1μs", 1000, "1µs"),
    ("1ns", 1, "1ns"),
    ("100ns", 100, "100ns"),
    ("1.000000001s", 1000000001, "1.000000001s"),
    ("1.0000000001s", 1000000000, "1s"),
    ("-1s", -1000000000, "-1s"),
    ("+1s", 1000000000, "1s"),
    ("-1m0s", -60000000000, "-1m0s"),
    ("1", None, 'time: missing unit in duration "1"'),
    ("", None, 'time: invalid duration ""'),
    ("s", None, 'time: invalid duration "s"'),
    (".s", None, 'time: invalid duration ".s"'),
    ("-.s", None, 'time: invalid duration "-.s"'),
    ("1.s", 1000000000, "1s"),
    (".5s", 500000000, "500ms"),
    ("1..5s", None, 'time: missing unit in duration "1..5s"'),
    ("1e3s", None, 'time: unknown unit "e" in duration "1e3s"'),
    ("1 s", None, 'time: unknown unit " s" in duration "1 s"'),
    (" 1s", None, 'time: invalid duration " 1s"'),
    ("1s ", None, 'time: unknown unit "s " in duration "1s "'),
    ("1d", None, 'time: unknown unit "d" in duration "1d"'),
    ("1S", None, 'time: unknown unit "S" in duration "1S"'),
    ("1M", None, 'time: unknown unit "M" in duration "1M"'),
    ("1h1h", 7200000000000, "2h0m0s"),
    ("1s1m", 61000000000, "1m1s"),
    ("1m1s", 61000000000, "1m1s"),
    ("1m60s", 120000000000, "2m0s"),
    ("3600s", 3600000000000, "1h0m0s"),
    ("1h60m", 7200000000000, "2h0m0s"),
    ("0h0m1s", 1000000000, "1s"),
    ("01s", 1000000000, "1s"),
    ("1.50s", 1500000000, "1.5s"),
    ("1.5e0s", None, 'time: unknown unit "e" in duration "1.5e0s"'),
    ("2562047h47m16.854775807s", 9223372036854775807, "2562047h47m16.854775807s"),
    ("2562047h47m16.854775808s", None, 'time: invalid duration "2562047h47m16.854775808s"'),
    ("-2562047h47m16.854775808s", -9223372036854775808, "-2562047h47m16.854775808s"),
    ("9223372036854775807ns", 9223372036854775807, "2562047h47m16.854775807s"),
    ("9223372036854775808ns", None, 'time: invalid duration "9223372036854775808ns"'),
    ("18446744073709551616ns", None, 'time: invalid duration "18446744073709551616ns"'),
    ("0.1ns", 0, "0s"),
    ("1.9ns", 1, "1ns"),
    ("1000ms", 1000000000, "1s"),
    ("1000000us", 1000000000, "1s"),
    ("61m", 3660000000000, "1h1m0s"),
    ("1h1m1.1s", 3661100000000, "1h1m1.1s"),
    ("0.000000001s", 1, "1ns"),
    ("5m0.5s", 300500000000, "5m0.5s"),
    ("2h45m0s", 9900000000000, "2h45m0s"),
    ("1m0.000s", 60000000000, "1m0s"),
    ("1.000s", 1000000000, "1s"),
    ("1ms0s", 1000000, "1ms"),
    ("10ms1ns", 10000001, "10.000001ms"),
    ("\uff11s", None, 'time: invalid duration "\\xef\\xbc\\x91s"'),
    ("1\uff53", None, 'time: unknown unit "\\xef\\xbd\\x93" in duration "1\\xef\\xbd\\x93"'),
    ("02ms1m", 60002000000, "1m0.002s"),
    ("2us", 2000, "2µs"),
    ("2m2ms", 120002000000, "2m0.002s"),
    (".02s", 20000000, "20ms"),
    ("11us", 11000, "11µs"),
    ("2µs", 2000, "2µs"),
    ("20s", 20000000000, "20s"),
    ("50ms", 50000000, "50ms"),
    ("2ms9s0s", 9002000000, "9.002s"),
    ("-01m", -60000000000, "-1m0s"),
    ("2µs11ms", 11002000, "11.002ms"),
    ("+0h", 0, "0s"),
    ("99ns2us", 2099, "2.099µs"),
    ("20h", 72000000000000, "20h0m0s"),
    ("09m", 540000000000, "9m0s"),
    ("2m55ms", 120055000000, "2m0.055s"),
    ("02m", 120000000000, "2m0s"),
    ("0.h", 0, "0s"),
    ("5h", 18000000000000, "5h0m0s"),
    ("9m", 540000000000, "9m0s"),
    ("2m", 120000000000, "2m0s"),
    ("2m50s", 170000000000, "2m50s"),
    ("9s", 9000000000, "9s"),
    ("15m", 900000000000, "15m0s"),
    ("51.0h", 183600000000000, "51h0m0s"),
    (
        "0µs5snuµs",
        None,
        'time: unknown unit "snu\\xc2\\xb5s" in duration "0\\xc2\\xb5s5snu\\xc2\\xb5s"',
    ),
    ("5u5mex", None, 'time: unknown unit "u" in duration "5u5mex"'),
    ("1 +-.2", None, 'time: unknown unit " +-" in duration "1 +-.2"'),
    ("usmsus", None, 'time: invalid duration "usmsus"'),
    ("n+mms", None, 'time: invalid duration "n+mms"'),
    (" en1", None, 'time: invalid duration " en1"'),
    ("-+msµsn1+x", None, 'time: invalid duration "-+ms\\xc2\\xb5sn1+x"'),
    ("11h590n", None, 'time: unknown unit "n" in duration "11h590n"'),
    ("µsn0mns0", None, 'time: invalid duration "\\xc2\\xb5sn0mns0"'),
    ("+9 ns 1us", None, 'time: unknown unit " ns " in duration "+9 ns 1us"'),
    ("h-xµs-u+ns", None, 'time: invalid duration "h-x\\xc2\\xb5s-u+ns"'),
    (" µsushh", None, 'time: invalid duration " \\xc2\\xb5sushh"'),
    ("e-9uµse.", None, 'time: invalid duration "e-9u\\xc2\\xb5se."'),
    ("ss5-", None, 'time: invalid duration "ss5-"'),
    ("µssmsususmss", None, 'time: invalid duration "\\xc2\\xb5ssmsususmss"'),
    ("26647ns", 26647, "26.647µs"),
    ("3669859ns", 3669859, "3.669859ms"),
    ("281333665270ns", 281333665270, "4m41.33366527s"),
    ("4163265069660838511ns", 4163265069660838511, "1156462h31m9.660838511s"),
    ("-305841912203178ns", -305841912203178, "-84h57m21.912203178s"),
    ("2188798669239395507ns", 2188798669239395507, "607999h37m49.239395507s"),
    ("-225304123467ns", -225304123467, "-3m45.304123467s"),
    ("-135163038895ns", -135163038895, "-2m15.163038895s"),
    ("-30791635719271ns", -30791635719271, "-8h33m11.635719271s"),
    ("6324528ns", 6324528, "6.324528ms"),
]


@pytest.mark.parametrize(("text", "nanoseconds", "printed"), GO_CASES)
def test_parse_and_print_exactly_as_go(text: str, nanoseconds: int | None, printed: str) -> None:
    if nanoseconds is None:
        with pytest.raises(GoDurationError) as caught:
            parse_go_duration(text)
        assert str(caught.value) == printed
    else:
        assert parse_go_duration(text) == nanoseconds
        assert format_go_duration(nanoseconds) == printed


@pytest.mark.parametrize(
    "text", ["2s", "5s", "500ms", "1.5s", "1m0s", "1h0m0s", "1m30s", "1ms", "2h45m0s", "1.001s"]
)
def test_canonical_durations_are_accepted(text: str) -> None:
    assert duration_problem(text) is None
    settings = parse_settings("dev", {"health": {"interval": text, "timeout": text}})
    assert settings.health.interval == text and settings.health.timeout == text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1m", "1m0s"),
        ("1h", "1h0m0s"),
        ("90s", "1m30s"),
        ("60s", "1m0s"),
        ("1000ms", "1s"),
        ("1.50s", "1.5s"),
        ("+2s", "2s"),
        ("02s", "2s"),
        ("1h60m", "2h0m0s"),
        ("1.s", "1s"),
        ("1us1ms", "1.001ms"),
    ],
)
def test_a_duration_docker_would_rewrite_names_the_form_to_write(text: str, canonical: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("dev", {"health": {"interval": text}})
    assert f'appstack:health.interval: expected the canonical form "{canonical}"' in str(
        caught.value
    )
    assert "would show a diff on every preview" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1 minute", 'unknown unit " minute"'),
        ("1", "missing unit"),
        ("", 'invalid duration ""'),
        ("1d", 'unknown unit "d"'),
        ("1e3s", 'unknown unit "e"'),
        (" 2s", "invalid duration"),
        ("2s\n", 'unknown unit "s\\x0a"'),
        ("9223372036854775808ns", "invalid duration"),
        ("-1s", "not negative"),
        ("500us", "below 1ms"),
        ("1ns", "below 1ms"),
        ("0s", "Docker use its default of 30s"),
        ("0", "Docker use its default of 30s"),
    ],
)
def test_a_duration_docker_refuses_is_refused(text: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings("dev", {"health": {"timeout": text}})
    message = str(caught.value)
    assert "appstack:health.timeout: expected a duration such as" in message
    assert reason in message


@pytest.mark.parametrize("value", [2, 2.5, None, True, ["2s"], {"s": 2}])
def test_a_duration_that_is_not_a_string_is_refused(value: object) -> None:
    with pytest.raises(SettingsError, match=r"appstack:health\.interval: expected a duration"):
        parse_settings("dev", {"health": {"interval": value}})


def test_a_start_period_of_zero_means_none_and_is_kept() -> None:
    assert parse_settings("dev", {"health": {"startPeriod": "0s"}}).health.start_period == "0s"
    with pytest.raises(SettingsError, match=r'canonical form "0s"'):
        parse_settings("dev", {"health": {"startPeriod": "0"}})
