"""mt5mesh.config, exactly: what each option says it allows, the three layers of load(), the exit
code and message of a bad file or value, and the --help text an operator reads."""
import re

import pytest

from mt5mesh.config import Config, ConfigError, Option, build_parser, check, load, validate

SMALL = (
    Option("count", int, 5, "how many", low=1, high=10),
    Option("ratio", float, 0.5, "a share", low=0),
    Option("name", str, "a", "a name", pattern=re.compile(r"[a-z]+"), what="lower-case letters"),
    Option("raw", str, "x", "any text"),
    Option("mode", str, "fast", "speed", choices=("fast", "safe")),
    Option("flag", bool, False, "turns it on"),
    Option("token", str, None, "a secret", optional=True, secret=True),
)


def test_allowed_says_exactly_what_each_kind_of_option_takes():
    assert Option("n", int, 1, "", low=1, high=10).allowed() == "an integer from 1 to 10"
    assert Option("n", float, 1.0, "", low=0).allowed() == "a number >= 0"
    assert Option("n", int, 1, "").allowed() == "an integer"
    assert Option("n", float, 1.0, "").allowed() == "a number"
    assert Option("n", str, "", "", choices=("a", 1)).allowed() == "one of a, 1"
    assert Option("n", str, "", "", pattern=re.compile("[a-z]+"), what="letters").allowed() == "letters"
    assert Option("n", str, "", "", pattern=re.compile("[a-z]+")).allowed() == "a string matching [a-z]+"
    assert Option("n", str, "", "").allowed() == "a string"
    assert Option("n", bool, False, "").allowed() == "true or false"


@pytest.mark.parametrize("value", ["a\nb", "a\x00b"])
def test_a_string_with_a_newline_or_nul_is_refused_exactly(value):
    with pytest.raises(ConfigError) as e:
        check(SMALL[3], value)
    assert str(e.value) == "raw: %s is not a string" % repr(value)


def test_unset_is_allowed_only_for_optional_options():
    assert check(SMALL[6], None) is None
    with pytest.raises(ConfigError) as e:
        check(SMALL[0], None)
    assert str(e.value) == "count: None is not an integer from 1 to 10"


def test_a_shown_value_is_cut_at_exactly_80_characters_and_a_secret_is_stars():
    with pytest.raises(ConfigError) as e:
        check(SMALL[2], "A" * 100)
    assert str(e.value) == "name: %s is not lower-case letters" % repr("A" * 100)[:80]
    with pytest.raises(ConfigError) as e:
        check(SMALL[6], 12345)
    assert str(e.value) == "token: *** is not a string"


def test_a_value_out_of_range_is_named_exactly():
    with pytest.raises(ConfigError) as e:
        check(SMALL[0], 11)
    assert str(e.value) == "count: 11 is not an integer from 1 to 10"


def test_every_problem_is_listed_in_one_message_joined_exactly():
    with pytest.raises(ConfigError) as e:
        validate(SMALL, {"count": 0, "mode": "slow", "zz": 1})
    assert str(e.value) == ("unknown key 'zz' (known: count, flag, mode, name, ratio, raw, token); "
                            "count: 0 is not an integer from 1 to 10; mode: 'slow' is not one of fast, safe")


def test_config_get_uses_the_default_only_for_an_unknown_name():
    cfg = Config({"a": 1, "b": None})
    assert cfg.get("a", 7) == 1 and cfg.get("b", 7) is None and cfg.get("c", 7) == 7 and cfg.get("c") is None
    with pytest.raises(AttributeError) as e:
        cfg.missing
    assert e.value.args == ("missing",)


def write(tmp_path, text):
    path = tmp_path / "svc.yml"
    path.write_text(text)
    return str(path)


def test_layers_defaults_then_yaml_then_flags(tmp_path):
    path = write(tmp_path, "count: 7\nmode: safe\n")
    cfg, args = load("svc", SMALL, ["--config", path, "--count", "9", "--flag"])
    assert (cfg.count, cfg.mode, cfg.flag, cfg.ratio, cfg.token) == (9, "safe", True, 0.5, None)
    assert args.config == path
    cfg, _args = load("svc", SMALL, ["--config", path])
    assert (cfg.count, cfg.flag) == (7, False)  # a flag not given does not override the file
    cfg, _args = load("svc", SMALL, [])
    assert cfg.as_dict() == {"count": 5, "ratio": 0.5, "name": "a", "raw": "x", "mode": "fast", "flag": False, "token": None}


def test_an_empty_yaml_file_means_all_defaults(tmp_path):
    cfg, _args = load("svc", SMALL, ["--config", write(tmp_path, "")])
    assert cfg.count == 5


def test_a_bad_yaml_value_exits_2_naming_the_key(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        load("svc", SMALL, ["--config", write(tmp_path, "count: lots\n")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(": invalid configuration: count: 'lots' is not an integer from 1 to 10\n")


@pytest.mark.parametrize("text,message", [
    ("- a\n- b\n", "must hold a mapping"),
    ("count: [1,\n", "cannot read --config"),
])
def test_a_yaml_file_that_is_not_a_mapping_exits_2_naming_the_file(tmp_path, capsys, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SystemExit) as e:
        load("svc", SMALL, ["--config", path])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--config %s" % path in err and message in err


def test_a_missing_yaml_file_exits_2_naming_the_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        load("svc", SMALL, ["--config", str(tmp_path / "nope.yml")])
    assert e.value.code == 2 and "cannot read --config %s: " % (tmp_path / "nope.yml") in capsys.readouterr().err


def test_help_text_shows_each_flag_its_metavar_allowed_values_and_real_default(capsys):
    seen = []
    parser = build_parser("the svc service", SMALL, extra=seen.append)
    assert seen == [parser]
    help_text = parser.format_help()
    flat = " ".join(help_text.split())
    assert "the svc service" in flat
    assert "--config CONFIG YAML file; its keys are the long option names with _ for -" in flat
    assert "--count COUNT how many [an integer from 1 to 10] (default: 5)" in flat
    assert "--flag turns it on [true or false] (default: False)" in flat
    assert "--token TOKEN a secret [a string] (default: unset)" in flat


def test_help_never_shows_a_secret_default():
    parser = build_parser("svc", (Option("key", str, "s3cr3t", "the key", secret=True),))
    flat = " ".join(parser.format_help().split())
    assert "--key KEY the key [a string] (default: (secret))" in flat and "s3cr3t" not in flat


def test_flags_are_typed_by_the_option_kind():
    parser = build_parser("svc", SMALL)
    args = parser.parse_args(["--ratio", "2.5", "--count", "3", "--raw", "7"])
    assert (args.ratio, args.count, args.raw, args.flag) == (2.5, 3, "7", None)
    assert parser.parse_args(["--flag"]).flag is True


def test_an_underscore_key_is_a_dashed_flag_and_load_passes_description_and_extra(capsys):
    schema = SMALL + (Option("batch_size", int, 1, "rows per batch", low=1, high=9),)
    seen = []
    cfg, _args = load("svc", schema, ["--batch-size", "4"], extra=lambda p: seen.append(p.description))
    assert cfg.batch_size == 4 and seen == ["svc"]
    with pytest.raises(SystemExit):
        load("the svc service", schema, ["--help"])
    assert "the svc service" in capsys.readouterr().out


def test_file_errors_are_one_exact_usage_line(tmp_path, capsys):
    path = write(tmp_path, "- a\n")
    with pytest.raises(SystemExit):
        load("svc", SMALL, ["--config", path])
    assert capsys.readouterr().err.endswith(": error: --config %s must hold a mapping\n" % path)
    with pytest.raises(SystemExit):
        load("svc", SMALL, ["--config", str(tmp_path)])
    assert ": error: cannot read --config %s: [Errno 21] Is a directory" % tmp_path in capsys.readouterr().err
