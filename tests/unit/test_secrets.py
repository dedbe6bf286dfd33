"""Header and URL redaction, and header validation (targets/secrets.py)."""

from __future__ import annotations

import pytest

from benchctl.errors import InputError
from benchctl.targets.secrets import (
    public_target,
    redact_command,
    redact_headers,
    redact_url,
    resolve_headers,
)


def test_every_header_value_is_redacted_unless_marked_safe():
    headers = {"Authorization": "Bearer x", "X-Session": "abc", "X-Trace": "t1", "K": "${TOK}"}
    assert redact_headers(headers, ["x-trace"]) == {
        "Authorization": "<redacted>",
        "X-Session": "<redacted>",
        "X-Trace": "t1",
        "K": "<redacted> (from ${TOK})",
    }


def test_command_line_header_values_are_redacted():
    argv = ["run", "steady", "--target-set", "headers.X-Key=abc", "--target-set=headers.Y=z",
            "--target-set", "url=http://u:pw@h:1", "--rate", "5"]  # fmt: skip
    assert redact_command(argv) == [
        "run", "steady", "--target-set", "headers.X-Key=<redacted>",
        "--target-set=headers.Y=<redacted>", "--target-set", "url=http://u:<redacted>@h:1",
        "--rate", "5",
    ]  # fmt: skip


def test_url_passwords_and_query_values_are_redacted():
    assert (
        redact_url("http://u:pw@h:8/p?token=t&x") == "http://u:<redacted>@h:8/p?token=<redacted>&x"
    )
    assert redact_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"


def test_public_target_redacts_urls_and_headers():
    data = {"url": "http://h:1", "metrics_url": "http://h:2/m?key=k", "headers": {"A": "s"}}
    assert public_target(data) == {
        "url": "http://h:1",
        "metrics_url": "http://h:2/m?key=<redacted>",
        "headers": {"A": "<redacted>"},
    }


def test_a_line_break_in_a_resolved_value_is_refused_without_showing_it(monkeypatch):
    monkeypatch.setenv("BENCH_NL", "pw-QZX-77\r\nX-Injected: 1")
    with pytest.raises(InputError) as exc:
        resolve_headers({"X-Key": "${BENCH_NL}"})
    assert "X-Key" in str(exc.value) and "QZX" not in str(exc.value)


def test_a_bad_header_name_is_refused():
    with pytest.raises(InputError, match="not a valid HTTP header name"):
        resolve_headers({"X Key": "v"})


def test_a_missing_header_variable_names_the_header_and_what_to_do(monkeypatch):
    """`Authorization: Bearer ${BENCHCTL_TEST_UNSET}` with the variable unset: one line naming
    the header and the variable, and how to fix it (export it, or --target-set headers.X)."""
    from benchctl.errors import InputError
    from benchctl.targets.secrets import resolve_headers

    monkeypatch.delenv("BENCHCTL_TEST_UNSET", raising=False)
    with pytest.raises(InputError) as caught:
        resolve_headers({"Authorization": "Bearer ${BENCHCTL_TEST_UNSET}"})
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(
        "header Authorization: environment variable BENCHCTL_TEST_UNSET is not set; export it"
    )
    assert "--target-set headers.Authorization=..." in text
