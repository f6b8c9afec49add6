"""Apache's line syntax: continuations, comments, ${VAR}, quoting."""

from __future__ import annotations

import pytest

from wsgihost.config.lexer import ConfigError, Line, expand, first_word, logical_lines, split_args


def lines(text: str) -> list[tuple[int, str]]:
    return [(line.lineno, line.text) for line in logical_lines(text, "f.conf")]


def words(text: str) -> list[str]:
    return split_args(text, "f.conf", 1)


# -- logical lines -------------------------------------------------------------------------


def test_blank_lines_and_comment_lines_are_dropped_and_numbers_kept() -> None:
    text = "# a comment\n\nListen 80\n   # indented comment\n\tServerName x  \n"
    assert lines(text) == [(3, "Listen 80"), (5, "ServerName x")]


def test_a_hash_after_a_directive_is_not_a_comment() -> None:
    assert lines("Listen 80 # web\n") == [(1, "Listen 80 # web")]


def test_backslash_continues_and_keeps_the_first_line_number() -> None:
    text = "Listen 80\nWSGIDaemonProcess site \\\n    processes=2 \\\n    threads=4\nX y\n"
    assert lines(text) == [
        (1, "Listen 80"),
        (2, "WSGIDaemonProcess site     processes=2     threads=4"),
        (5, "X y"),
    ]


def test_a_word_broken_without_spaces_joins_up_again() -> None:
    # Apache appends the next line as it is: no space is added.
    assert lines("Alias /st\\\natic/ /srv/static/\n") == [(1, "Alias /static/ /srv/static/")]


def test_trailing_white_space_after_the_backslash_is_forgiven() -> None:
    assert lines("A b \\   \n c\n") == [(1, "A b  c")]


def test_a_double_backslash_ends_the_line_with_one_backslash() -> None:
    assert lines("A b\\\\\nC d\n") == [(1, "A b\\"), (2, "C d")]


def test_a_comment_ending_in_a_backslash_swallows_the_next_line_as_in_apache() -> None:
    assert lines("# note \\\nListen 80\nListen 81\n") == [(3, "Listen 81")]


def test_a_continuation_at_the_end_of_the_file_still_counts() -> None:
    assert lines("Listen 80 \\") == [(1, "Listen 80")]


def test_windows_line_endings() -> None:
    assert lines("Listen 80\r\nServerName x\r\n") == [(1, "Listen 80"), (2, "ServerName x")]


# -- ${VAR} --------------------------------------------------------------------------------


def test_variables_are_expanded_from_the_lookup() -> None:
    values = {"DIR": "/var/log", "PORT": "80"}
    line = Line("f.conf", 3, "ErrorLog ${DIR}/error-${PORT}.log")
    assert expand(line, values.get) == "ErrorLog /var/log/error-80.log"


def test_a_line_without_variables_is_returned_as_it_is() -> None:
    assert expand(Line("f", 1, "Listen $80 {x}"), lambda name: None) == "Listen $80 {x}"


def test_undefined_variables_are_one_error_naming_them_all() -> None:
    line = Line("f.conf", 7, "CustomLog ${A}/x ${B} ${A}")
    with pytest.raises(ConfigError) as info:
        expand(line, {"C": "c"}.get)
    assert (info.value.file, info.value.line) == ("f.conf", 7)
    assert info.value.message.startswith("variable ${A}, ${B} are not defined")
    assert str(info.value).startswith("f.conf:7: variable")


def test_an_empty_variable_name_is_undefined() -> None:
    with pytest.raises(ConfigError, match=r"\$\{\} is not defined"):
        expand(Line("f", 1, "X ${}"), lambda name: "never")


# -- arguments -----------------------------------------------------------------------------


def test_words_are_split_on_white_space() -> None:
    assert words("  Alias\t/a   /b  ") == ["Alias", "/a", "/b"]


def test_quotes_group_words_and_escape_a_quote_inside() -> None:
    assert words('LogFormat "%h \\"%r\\" %>s" common') == ["LogFormat", '%h "%r" %>s', "common"]
    assert words("Alias '/with space/' /srv") == ["Alias", "/with space/", "/srv"]
    assert words('X "it\'s"') == ["X", "it's"]


def test_an_empty_quoted_word_is_a_word() -> None:
    assert words('X "" y') == ["X", "", "y"]


def test_a_quote_inside_a_word_is_part_of_it() -> None:
    assert words('Header set X a"b') == ["Header", "set", "X", 'a"b']


def test_a_quoted_value_after_equals_is_one_option_as_mod_wsgi_reads_it() -> None:
    assert words('WSGIDaemonProcess g python-path="/a b:/c" threads=2') == [
        "WSGIDaemonProcess",
        "g",
        "python-path=/a b:/c",
        "threads=2",
    ]
    assert words("X display-name='(wsgi:g)'") == ["X", "display-name=(wsgi:g)"]


def test_double_backslashes_become_one_as_in_apache_and_others_stay() -> None:
    assert words(r"AliasMatch ^/a\.b$ C:\\dir") == ["AliasMatch", r"^/a\.b$", "C:\\dir"]
    assert words(r'X "a\\b\.c"') == ["X", r"a\b\.c"]


def test_an_unterminated_quote_is_an_error() -> None:
    with pytest.raises(ConfigError, match='unterminated " quote'):
        words('ServerName "example.com')
    with pytest.raises(ConfigError, match="unterminated ' quote"):
        words("X a='b")


def test_first_word_does_not_expand_or_unquote() -> None:
    assert first_word("  <VirtualHost ${ADDR}>") == "<VirtualHost"
    assert first_word("</Directory>") == "</Directory>"
    assert first_word("   ") == ""
