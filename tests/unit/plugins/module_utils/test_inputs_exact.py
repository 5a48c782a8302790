"""inputs.py: each validator's exact sentence (option, value, what is allowed) and its edges.

An operator reads these messages in a failed play: they must name the option and the value, and
the edges (port 65535, a 253-character host, the seconds bounds) must be where the docs say."""
import pytest

from ansible_collections.mt5crs.mesh.plugins.module_utils import inputs


def test_shown_value_is_its_repr_cut_at_exactly_80_characters_with_an_ellipsis():
    assert inputs._shown("ab") == "'ab'"
    assert inputs._shown("x" * 78) == "'" + "x" * 78 + "'"  # 80 characters: whole
    assert inputs._shown("x" * 79) == "'" + "x" * 79 + "..."  # 81: cut to 80 and marked
    assert inputs._shown([1, 2], limit=3) == "[1,..."


@pytest.mark.parametrize("value,message", [
    (None, "host must be a host name or address, got None"),
    ("", "host must be a host name or address, got ''"),
    ("-f", 'host must be a host name or address (letters, digits, ".", "-", ":"; not starting with "-"), got \'-f\''),
    ("a b", 'host must be a host name or address (letters, digits, ".", "-", ":"; not starting with "-"), got \'a b\''),
    ("a" * 254, 'host must be a host name or address (letters, digits, ".", "-", ":"; not starting with "-"), got '
     + repr("a" * 254)[:80] + "..."),
])
def test_bad_host_names_the_option_and_the_value_exactly(value, message):
    assert inputs.bad_host("host", value) == message


def test_host_of_exactly_253_characters_is_accepted_and_254_refused():
    assert inputs.bad_host("h", "a" * 253) is None
    assert inputs.bad_host("h", "a" * 254) is not None
    assert inputs.bad_host("h", "[fe80::1%eth0]") is None and inputs.bad_host("h", "10.0.0.1") is None


@pytest.mark.parametrize("value", [1, 5555, 65535])
def test_port_edges_1_and_65535_are_accepted(value):
    assert inputs.bad_port("port", value) is None


@pytest.mark.parametrize("value,shown", [(0, "0"), (65536, "65536"), (True, "True"), ("80", "'80'"), (80.0, "80.0")])
def test_bad_port_names_the_option_and_the_value_exactly(value, shown):
    assert inputs.bad_port("port", value) == "port must be 1-65535, got %s" % shown


def test_bad_seconds_not_a_finite_number_is_named_exactly():
    for value, shown in ((float("nan"), "nan"), (float("inf"), "inf"), ("1", "'1'"), (True, "True")):
        assert inputs.bad_seconds("timeout", value) == "timeout must be a finite number of seconds, got %s" % shown


def test_seconds_bounds_are_inclusive_and_zero_only_when_allowed():
    assert inputs.bad_seconds("t", 86400.0) is None
    assert inputs.bad_seconds("t", 86400.5) == "t must be > 0 and at most 86400.0 seconds, got 86400.5"
    assert inputs.bad_seconds("t", 0) == "t must be > 0 and at most 86400.0 seconds, got 0"
    assert inputs.bad_seconds("t", 0, allow_zero=True) is None
    assert inputs.bad_seconds("t", -1, allow_zero=True) == "t must be between 0.0 and 86400.0 seconds, got -1"
    assert inputs.bad_seconds("t", 0.5, minimum=0.5, maximum=2) is None
    assert inputs.bad_seconds("t", 2, minimum=0.5, maximum=2) is None
    assert inputs.bad_seconds("t", 0.4, minimum=0.5, maximum=2) == "t must be between 0.5 and 2 seconds, got 0.4"
    assert inputs.bad_seconds("t", 2.1, minimum=0.5, maximum=2) == "t must be between 0.5 and 2 seconds, got 2.1"


def test_int_bounds_are_inclusive_and_bools_and_floats_are_refused_exactly():
    assert inputs.bad_int("count", 1, 1, 5) is None and inputs.bad_int("count", 5, 1, 5) is None
    for value, shown in ((0, "0"), (6, "6"), (True, "True"), (2.5, "2.5"), ("2", "'2'")):
        assert inputs.bad_int("count", value, 1, 5) == "count must be an integer 1-5, got %s" % shown


@pytest.mark.parametrize("url", ["http://127.0.0.1:9110/health", "https://inf.lab/health", "http://[::1]:80/"])
def test_valid_urls_are_accepted(url):
    assert inputs.bad_url("url", url) is None


@pytest.mark.parametrize("url", ["ftp://h/", "http://", "http://h:99999/", "http://-h/", "http://h/a b", "HTTP://h/x y",
                                 "http://h;rm/"])
def test_bad_url_names_the_option_and_the_value_exactly(url):
    assert inputs.bad_url("url", url) == "url must be an http(s) URL with a valid host, got %r" % url


def test_bad_url_of_a_non_string_or_empty_value_is_named_exactly():
    assert inputs.bad_url("url", None) == "url must be an http(s) URL, got None"
    assert inputs.bad_url("url", "") == "url must be an http(s) URL, got ''"


def test_upper_case_http_scheme_is_accepted_because_urlsplit_lowers_it():
    assert inputs.bad_url("url", "HTTP://h/") is None


def test_path_version_and_module_messages_are_exact():
    assert inputs.bad_path("p", "/x") is None
    for value, shown in ((None, "None"), ("", "''"), ("a\x00b", "'a\\x00b'")):
        assert inputs.bad_path("p", value) == "p must be a file system path, got %s" % shown
    assert inputs.bad_version("v", "3.11") is None
    assert inputs.bad_version("v", "3.x") == "v must be a version like 3.9, got '3.x'"
    assert inputs.bad_module_name("m", "zmq.auth") is None
    assert inputs.bad_module_name("m", "1zmq") == "m must be a Python module name, got '1zmq'"


def test_module_list_names_every_bad_entry_joined_exactly():
    assert inputs.bad_module_list("modules", ["zmq", "redis"]) is None
    assert inputs.bad_module_list("modules", []) == "modules must be a non-empty list"
    assert inputs.bad_module_list("modules", "zmq") == "modules must be a non-empty list"
    assert inputs.bad_module_list("modules", ["ok", "1x", "a b"]) == (
        "modules[] must be a Python module name, got '1x'; modules[] must be a Python module name, got 'a b'")


def test_first_error_is_the_first_non_empty_one_or_none():
    assert inputs.first_error(None, "", "a", "b") == "a"
    assert inputs.first_error(None, None) is None


def test_gateway_name_of_63_characters_is_accepted_and_64_refused_exactly():
    assert inputs.bad_gateway_name("gateway", "g" * 63) is None
    assert inputs.bad_gateway_name("gateway", "G-2_x") is None
    assert inputs.bad_gateway_name("gateway", "g" * 64) == (
        'gateway must be a gateway name (letters, digits, "_" and "-", up to 63), got %r' % ("g" * 64))


@pytest.mark.parametrize("value", ["-gtw", "_gtw", "gtw.lab", "gtw 2", "", 7, None])
def test_bad_gateway_name_refuses_dots_spaces_a_leading_sign_and_non_strings(value):
    assert inputs.bad_gateway_name("gw", value) == (
        'gw must be a gateway name (letters, digits, "_" and "-", up to 63), got %s' % inputs._shown(value))
