"""Typed fields (bot/domain/fields.py): what settings and the rules file are read with.

Any value a person types into `.env` or a rules file gives a converted value inside its limits or a
problem naming the field, never an exception; TOML is read strictly and the environment laxly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings, load_settings
from bot.domain.fields import Invalid, Limits, build, check, dotted
from bot.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Sample:
    name: Annotated[str, Limits(min_length=1, max_length=8, pattern=r"^[a-z]+$")]
    count: Annotated[int, Limits(ge=1, le=10)] = 3
    ratio: Annotated[float, Limits(gt=0)] = 1.0
    flag: bool = False
    mode: Literal["auto", "on", "off"] = "auto"
    words: list[str] = field(default_factory=list)
    items: tuple[str, ...] = ()
    where: Path | None = None
    anything: list[Any] = field(default_factory=list)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
# Each field: often a value near its limits, sometimes anything at all; "x" is not a field.
TABLES = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["ok", "abc", "", "A", "abcdefghi"]) | st.text(max_size=10) | JSONISH,
        "count": st.integers(-3, 14) | st.booleans() | st.text("0123456789 +-.", max_size=5) | JSONISH,
        "ratio": st.floats()
        | st.integers(-2, 2)
        | st.booleans()
        | st.sampled_from(["inf", "nan", "1e400", " 2.5 "])
        | st.text("0123456789.-e ", max_size=6)
        | JSONISH,
        "flag": st.booleans() | st.sampled_from(["yes", "No", "1", "perhaps", ""]) | st.integers(-1, 2),
        "mode": st.sampled_from(["auto", "ON", " off ", "x"]) | JSONISH,
        "words": st.lists(st.text(max_size=3), max_size=3) | JSONISH,
        "items": st.text(max_size=10) | st.lists(st.text(max_size=3), max_size=3) | JSONISH,
        "where": st.none() | st.text(max_size=5) | JSONISH,
        "anything": JSONISH,
        "x": JSONISH,
    },
)


FIELD_OK = {
    "name": lambda v: type(v) is str and 1 <= len(v) <= 8 and v.isascii() and v.isalpha() and v.islower(),
    "count": lambda v: type(v) is int and 1 <= v <= 10,
    "ratio": lambda v: type(v) is float and math.isfinite(v) and v > 0,
    "flag": lambda v: type(v) is bool,
    "mode": lambda v: v in ("auto", "on", "off"),
    "words": lambda v: type(v) is list and all(type(w) is str for w in v),
    "items": lambda v: type(v) is tuple and all(type(i) is str for i in v),
    "where": lambda v: v is None or isinstance(v, Path),
    "anything": lambda v: type(v) is list,
}


@settings(max_examples=400, deadline=None)
@given(TABLES, st.booleans())
def test_any_table_gives_a_value_in_its_limits_or_a_problem_per_field(raw: dict[str, Any], lax: bool) -> None:
    values, problems = check(Sample, raw, lax=lax, forbid_extra=True)
    for problem in problems:
        assert problem.loc and problem.loc[0] in {*raw, "name"} and problem.message
        assert problem.kind in ("missing", "extra", "invalid")
    assert len({p.loc[0] for p in problems}) == len(problems)  # one problem per field
    for name, value in values.items():  # every field without a problem is converted and in its limits
        assert FIELD_OK[name](value), (name, value)
    assert {*values, *(p.loc[0] for p in problems)} >= set(FIELD_OK) - {"words", "anything"}
    if not problems:
        assert Sample(**values)  # type: ignore[arg-type]
    else:
        with pytest.raises(Invalid) as caught:
            build(Sample, raw, lax=lax)
        assert caught.value.problems == problems


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(Settings.names()), st.text(max_size=30), max_size=6))
def test_any_environment_text_gives_settings_or_named_problems(env: dict[str, str]) -> None:
    problems = []
    try:
        Settings(**env)
    except Invalid as exc:
        problems = exc.problems
        assert problems
    assert all(str(p.loc[0]) in env and p.kind == "invalid" for p in problems)


def test_toml_is_read_strictly() -> None:
    _, problems = check(
        Sample, {"name": "ab", "count": "3", "flag": 1, "words": ("a",)}, lax=False, forbid_extra=True
    )
    assert [(dotted(p.loc), p.message) for p in problems] == [
        ("count", "Input should be a valid integer"),
        ("flag", "Input should be a valid boolean"),
        ("words", "Input should be a valid list"),
    ]
    _, problems = check(
        Sample, {"name": "ab", "count": True, "words": ["a", 2]}, lax=False, forbid_extra=True
    )
    assert [(dotted(p.loc), p.message) for p in problems] == [
        ("count", "Input should be a valid integer"),
        ("words[1]", "Input should be a valid string"),
    ]


def test_the_environment_is_read_as_text() -> None:
    raw = {
        "name": "ab",
        "count": " 7 ",
        "ratio": "2.5",
        "flag": "Yes",
        "mode": "ON",
        "items": "a, b,,c ",
        "where": "",
    }
    value = build(Sample, raw, lax=True)
    assert (value.count, value.ratio, value.flag, value.mode) == (7, 2.5, True, "on")
    assert value.items == ("a", "b", "c") and value.where is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"count": "seven"}, "count: Input should be a valid integer, unable to parse string as an integer"),
        ({"count": "1" * 31}, "count: Input should be a valid integer, unable to parse string as an integer"),
        ({"count": "0"}, "count: Input should be greater than or equal to 1"),
        ({"count": "11"}, "count: Input should be less than or equal to 10"),
        ({"ratio": "0"}, "ratio: Input should be greater than 0"),
        ({"ratio": "nan"}, "ratio: Input should be a finite number"),
        ({"ratio": "inf"}, "ratio: Input should be a finite number"),
        ({"ratio": "fast"}, "ratio: Input should be a valid number, unable to parse string as a number"),
        ({"flag": "perhaps"}, "flag: Input should be a valid boolean, unable to interpret input"),
        ({"mode": "always"}, "mode: Input should be 'auto', 'on' or 'off'"),
        ({"name": ""}, "name: String should have at least 1 character"),
        ({"name": "abcdefghi"}, "name: String should have at most 8 characters"),
        ({"name": "a b"}, "name: String should match pattern '^[a-z]+$'"),
        ({"where": "a\x00b"}, "where: Input is not a valid path"),
    ],
)
def test_each_problem_says_what_is_wrong(raw: dict[str, str], message: str) -> None:
    with pytest.raises(Invalid) as caught:
        build(Sample, {"name": "ok"} | raw, lax=True)
    assert str(caught.value) == message


def test_missing_and_unknown_keys_are_named() -> None:
    _, problems = check(Sample, {"nmae": "x"}, lax=False, forbid_extra=True)
    assert [(p.loc, p.kind) for p in problems] == [(("name",), "missing"), (("nmae",), "extra")]
    values, problems = check(Sample, {"name": "x", "other": 1}, lax=True, forbid_extra=False)
    assert problems == [] and "other" not in values


def test_settings_are_read_only_and_replace_checks_again(tmp_path: Path) -> None:
    config = Settings(HTTP_PORT="8081", SLACK_BOT_TOKEN="xoxb-secret", LOG_LEVEL="debug")
    assert config.HTTP_PORT == 8081 and config.LOG_LEVEL == "DEBUG"
    with pytest.raises(AttributeError):
        config.HTTP_PORT = 1  # type: ignore[misc]
    with pytest.raises(TypeError, match="HTTP_PROT"):
        Settings(HTTP_PROT=1)
    assert config.replace(HTTP_PORT=0).HTTP_PORT == 0 and config.HTTP_PORT == 8081
    with pytest.raises(Invalid, match="HTTP_PORT: Input should be less than or equal to 65535"):
        config.replace(HTTP_PORT=70000)
    assert "xoxb-secret" not in repr(config) and "HTTP_PORT=8081" in repr(config)
    assert config == Settings(**config.values()) and config != Settings()
    assert hash(config) == hash(Settings(**config.values()))


def test_problems_are_in_the_order_of_the_settings(tmp_path: Path) -> None:
    with pytest.raises(Invalid) as caught:
        Settings(
            TIMER_SECONDS="0", LIBRARY_TIMEZONE="Mars/Base", HTTP_PORT="x", RULES_FILE=str(tmp_path / "no")
        )
    assert [p.loc[0] for p in caught.value.problems] == [
        "LIBRARY_TIMEZONE",
        "RULES_FILE",
        "HTTP_PORT",
        "TIMER_SECONDS",
    ]


def test_the_environment_wins_over_the_env_file_and_overrides_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in Settings.names():
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "desk.env"
    env_file.write_text(
        "HTTP_PORT=9001\nlog_level=warning\nFEEDS=https://a.example/f, https://b.example/f\nBARE\n"
    )
    config = load_settings(env_file)
    assert (config.HTTP_PORT, config.LOG_LEVEL) == (9001, "WARNING")
    assert config.FEEDS == ("https://a.example/f", "https://b.example/f")
    monkeypatch.setenv("HTTP_PORT", "9002")
    assert load_settings(env_file).HTTP_PORT == 9002
    assert load_settings(env_file, HTTP_PORT=9003).HTTP_PORT == 9003
    monkeypatch.setenv("RULES_FILE", "")  # an empty optional file is unset, not the current folder
    assert load_settings(env_file).RULES_FILE is None
    monkeypatch.setenv("HTTP_PORT", "eighty")
    with pytest.raises(ConfigError, match="HTTP_PORT: Input should be a valid integer"):
        load_settings(env_file)


@pytest.mark.parametrize("zone", ["America", "a" * 300, "Europe/", "UTC\x00"])
def test_a_time_zone_that_is_a_folder_or_too_long_is_a_problem_not_a_crash(zone: str) -> None:
    with pytest.raises(Invalid, match="LIBRARY_TIMEZONE: unknown IANA time zone"):
        Settings(LIBRARY_TIMEZONE=zone)
    from bot.rota.branches import read_zone

    with pytest.raises(ConfigError, match=r"branches.x: timezone .* is not an IANA time zone"):
        read_zone(zone, where="branches.x")


def test_a_file_name_too_long_is_a_problem_not_a_crash() -> None:
    with pytest.raises(Invalid, match=r"RULES_FILE: cannot read .*File name too long"):
        Settings(RULES_FILE="x" * 5000)
