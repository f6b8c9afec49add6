"""Apache's expression language: what expressions give for a request, and the bad ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wsgihost.expr import EvaluationError, ExprError, MapRequest, compile, compile_string

REQUEST = MapRequest(
    variables={
        "REQUEST_METHOD": "GET",
        "REQUEST_URI": "/shop/item/42",
        "QUERY_STRING": "a=1&b=2",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTPS": "off",
        "SERVER_NAME": "a.test",
        "SERVER_PORT": "80",
        "REQUEST_SCHEME": "http",
        "THE_REQUEST": "GET /shop/item/42?a=1&b=2 HTTP/1.1",
    },
    headers={"Host": "a.test", "User-Agent": "curl/8.0", "X-Token": "Secret", "Accept": "*/*"},
    response_headers={"Content-Type": "text/html"},
    environment={"APP_ENV": "prod"},
    notes={"seen": "yes"},
)

# Each expression's value here is the one Apache 2.4.71 gave (as a Require expr) for
# the same request, apart from the variables only this table's request has.
TRUE_AND_FALSE = [
    ("true", True),
    ("false", False),
    ("!false", True),
    ("not true", False),
    ("%{HTTP_HOST} == 'a.test'", True),
    ("%{HTTP_HOST} = 'a.test'", True),
    ("%{HTTP_HOST} != 'a.test'", False),
    ("%{http_host} == 'a.test'", True),  # variable names in any case
    ("%{REQUEST_METHOD} in {'POST', 'GET'}", True),
    ("%{REQUEST_METHOD} -in {'POST', 'PUT'}", False),
    ("'abc' < 'abd'", True),
    ("'b' <= 'a'", False),
    ("'10' < '9'", True),  # strings compare as strings
    ("10 -lt 9", False),  # integers as integers
    ("10 -gt 9 && 9 -ge 9 && 9 -le 9 && 1 -ne 2 && 3 -eq 3", True),
    ("'abc' -eq 0", True),  # atoi64: no digits is 0
    ("' 12abc' -eq 12", True),
    ("-5 -lt 0", True),
    ("10 lt 9 || 2 gt 1", True),  # ssl_expr's spellings
    ("%{REQUEST_URI} =~ /^.shop/", True),
    ("%{REQUEST_URI} !~ /^.shop/", False),
    ("%{REQUEST_URI} =~ m#/ITEM/#i", True),
    ("%{REQUEST_URI} =~ m#/ITEM/#", False),
    ("%{REQUEST_URI} =~ m#/item/(\\d+)# && $1 == '42'", True),
    ("%{REQUEST_URI} =~ m#^/(\\w+)/(\\w+)# && $0 . '|' . $2 == '/shop/item|item'", True),
    ("%{REQUEST_URI} =~ m#(nomatch)# || $1 == ''", True),
    ("%{REMOTE_ADDR} -ipmatch '10.0.0.0/8'", True),
    ("%{REMOTE_ADDR} -ipmatch '192.168.0.0/16'", False),
    ("-R '10.1.0.0/255.255.0.0'", True),
    ("-R '10.2'", False),
    ("'foo.example.com' -strmatch '*.example.*'", True),
    ("'foo.EXAMPLE.com' -strmatch '*.example.*'", False),
    ("'foo.EXAMPLE.com' -strcmatch '*.example.*'", True),
    ("'/a/b/c' -fnmatch '/a/*'", False),  # '*' does not cross '/'
    ("'/a/b/c' -fnmatch '/a/*/[a-c]'", True),
    ("'/a/b' -strmatch '/a*'", True),
    ("-n %{QUERY_STRING}", True),
    ("-z %{QUERY_STRING}", False),
    ("-z %{PATH_INFO}", True),
    ("-T 'on' && -T '1' && -T 'yes'", True),
    ("-T 'OFF' || -T 'no' || -T 'False' || -T '0' || -T ''", False),
    ("req('x-token') == 'Secret' && http('X-TOKEN') == 'Secret'", True),
    ("%{req:X-Token} == 'Secret'", True),
    ("resp('content-type') == 'text/html'", True),
    ("env('APP_ENV') == 'prod' && reqenv('APP_ENV') == 'prod'", True),
    ("env('seen') == 'yes' && note('seen') == 'yes'", True),  # env() asks notes first
    ("tolower(%{HTTP_USER_AGENT}) == 'curl/8.0'", True),
    ("toupper('abc') == 'ABC'", True),
    ("'a' . 'b' . %{REQUEST_METHOD} == 'abGET'", True),
    ("\"x%{REQUEST_METHOD}y\" == 'xGETy'", True),
    ("'it\\'s' == \"it's\"", True),
    ("'tab\\there' == \"tab\\011here\"", True),
    ("escape('a b/c?d') == 'a%20b/c%3fd'", True),
    ("unescape('a%20b%2Fc') == 'a b%2Fc'", True),
    ("unescape('bad%zz') == ''", True),
    ("unescape('x%00y') == ''", True),
    ("escape('a;b:c@d&e=f+g$h,i') == 'a;b:c@d&e=f+g$h,i'", True),
    ("unbase64('aGVsbG8') == 'hello'", True),
    ("unbase64('aGVs!bG8=') == 'hel'", True),  # decoding stops at the first stranger
    ("%{REQUEST_URI} =~ m#(shop)# && 'q' =~ /(z)/ || $1 == ''", True),  # a failed match clears
    ("base64('hello') == 'aGVsbG8=' && unbase64('aGVsbG8=') == 'hello'", True),
    ("md5('a') == '0cc175b9c0f1b6a831c399e269772661'", True),
    ("sha1('a') == '86f7e437faa5a7fce15d1ddcb9eaeaea377667b8'", True),
    ("md5('é') == '" + __import__("hashlib").md5("é".encode()).hexdigest() + "'", True),
    ("true || false && false", True),
    ("(true || false) && false", False),
    ("!true && false", False),  # '!' binds tighter than '&&'
    ("%{TIME_YEAR} -ge 2024", True),
    ("%{SERVER_SOFTWARE} == 'Apache'", True),
]


@pytest.mark.parametrize(("text", "expected"), TRUE_AND_FALSE)
def test_expression_value(text: str, expected: bool) -> None:
    assert compile(text).evaluate(REQUEST) is expected


def test_captures_are_given_to_the_caller() -> None:
    outcome = compile("%{REQUEST_URI} =~ m#^/(\\w+)/item/(\\d+)$#").run(REQUEST)
    assert outcome.value
    assert outcome.captures == ("/shop/item/42", "shop", "42")


def test_a_regex_without_groups_keeps_the_earlier_captures() -> None:
    outcome = compile("%{REQUEST_URI} =~ m#(shop)# && 'x' =~ /x/ && $1 == 'shop'").run(REQUEST)
    assert outcome.value and outcome.captures == ("shop", "shop")


def test_request_headers_read_are_named_for_vary_but_not_host() -> None:
    outcome = compile("%{HTTP_HOST} == 'a.test' && %{HTTP_USER_AGENT} =~ /curl/").run(REQUEST)
    assert outcome.varies == ("User-Agent",)
    assert compile("req_novary('X-Token') == 'Secret'").run(REQUEST).varies == ()


def test_file_tests(tmp_path: Path) -> None:
    file = tmp_path / "f.txt"
    file.write_text("hello")
    empty = tmp_path / "empty"
    empty.write_text("")
    link = tmp_path / "link"
    os.symlink(file, link)
    env = {"F": str(file), "E": str(empty), "D": str(tmp_path), "L": str(link)}
    request = MapRequest(environment=env)
    assert compile("-f env('F') && -s env('F') && -e env('F')").evaluate(request)
    assert not compile("-s env('E') || -d env('F') || -L env('F')").evaluate(request)
    assert compile("-d env('D') && -L env('L') && -h env('L') && -f env('L')").evaluate(request)
    assert compile("file(env('F')) == 'hello' && filesize(env('F')) == '5'").evaluate(request)
    assert compile("filesize(env('D')) == '0'").evaluate(request)
    with pytest.raises(EvaluationError, match="Cannot open file"):
        compile("file(env('D') . '/missing') == ''").evaluate(request)


def test_string_expressions() -> None:
    text = compile_string("%{REQUEST_METHOD} %{req:Host} $1 100% {x} 'q' \\\"")
    assert text.evaluate(REQUEST, captures=("all", "one")) == "GET a.test one 100% {x} 'q' \""
    assert compile_string("plain").evaluate(REQUEST) == "plain"
    assert compile_string("").evaluate(REQUEST) == ""


BAD = [
    ("%{HTTP_HOST} ==", "syntax error, unexpected $end", 15),
    ("", "syntax error, unexpected $end", 0),
    ("a == b", "syntax error, unexpected T_OP_STR_EQ", 2),
    ("'a' == 'b' 'c'", "syntax error, unexpected T_STR_BEGIN", 11),
    ("true false", "syntax error, unexpected T_FALSE", 5),
    ("(true", "syntax error, unexpected $end", 5),
    ("'a' in {}", "syntax error, unexpected '}'", 8),
    ("1 == 2 &", "Parse error near '&'", 7),
    ("%{HTTP_X_FOO} == 1", "Variable 'HTTP_X_FOO' does not exist", 0),
    ("foo('a') == 1", "Function 'foo' does not exist", 0),
    ("-q 'a'", "Unary operator '-q' does not exist", 0),
    ("'a' -foo 'b'", "Binary operator '-foo' does not exist", 4),
    ("'a' in foo('x')", "List-returning function 'foo' does not exist", 7),
    ("'a' =~ /(/", "Failed to compile regular expression", 7),
    ("'a' =~ /abc", "syntax error, unexpected $end, expecting T_REGEX or T_REGEX_I", 11),
    ("'a' =~ /^\\/a/", "Failed to compile regular expression", 7),  # no escaping the '/'
    ("'a' == 'b' || -x", "syntax error, unexpected $end", 16),
    ("'a", "Unterminated string or variable", 0),
    ("%{HTTP_HOST", "Unterminated string or variable", 0),
    ("%{HT.P} == 1", "Invalid character in variable name '.'", 4),
    ("'\\9' == 1", "Bad escape sequence", 1),
    ("-R 'zz'", "parsing of subnet/netmask failed", 0),
    ("-R %{REMOTE_ADDR}", "-R requires subnet/netmask as constant argument", 0),
    ("'x' -ipmatch 'abc'", "parsing of subnet/netmask failed", 4),
    ("-U '/other'", "-U runs a subrequest, which wsgihost does not have", 0),
]


@pytest.mark.parametrize(("text", "message", "position"), BAD)
def test_bad_expressions_are_refused_with_apaches_message(
    text: str, message: str, position: int
) -> None:
    with pytest.raises(ExprError) as caught:
        compile(text)
    assert caught.value.message == message
    assert caught.value.position == position
    assert str(caught.value) == f"{message} (at character {position + 1})"


def test_restricted_expressions_refuse_the_file_system() -> None:
    with pytest.raises(ExprError, match="-f not available in restricted context"):
        compile("-f '/etc/passwd'", restricted=True)
    with pytest.raises(ExprError, match="file not available in restricted context"):
        compile("file('/etc/passwd') == ''", restricted=True)
    assert compile("-n 'x'", restricted=True).evaluate(REQUEST)
