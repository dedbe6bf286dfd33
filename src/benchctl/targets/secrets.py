"""Header values are secrets: never written to a run file, never passed through disk.

Every header value a user gives (target ``headers:``, ``--target-set headers.X=...``) is
replaced by ``<redacted>`` in what benchctl stores (run.json's target spec and command,
engine-spec.json), unless the target lists the header's name in ``safe_headers``. The engine
process gets the real headers through an environment variable it inherits
(``BENCHCTL_REQUEST_HEADERS``), not through engine-spec.json; remote workers get them from
the master over its ZeroMQ connection, in memory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchctl.config import resolve_env
from benchctl.errors import InputError

REDACTED = "<redacted>"
HEADERS_ENV = "BENCHCTL_REQUEST_HEADERS"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Headers benchctl itself adds for the wire protocol: not user secrets, needed to replay.
_PROTOCOL_HEADERS = frozenset({"content-type", "inference-header-content-length"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 field-name
_FIELD_VALUE = re.compile(r"^[\x20-\x7e\t]*$")  # visible ASCII, space, tab


def resolve_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``${VAR}`` resolved from the environment, and every header checked: a name that is an
    HTTP token, a value of visible ASCII (no CR/LF, which would split the request). Raises
    InputError naming the header, never its value."""
    resolved = {}
    for name, template in headers.items():
        if not _TOKEN.match(name):
            raise InputError(
                f"header name {name!r} is not a valid HTTP header name (letters, digits, -)"
            )
        try:
            value = resolve_env(template)
        except InputError as exc:  # name the header and what to do, never a value
            raise InputError(
                f"header {name}: {exc}; export it before running benchctl, or set the header "
                f"with --target-set headers.{name}=..."
            ) from None
        if not _FIELD_VALUE.match(value):
            raise InputError(
                f"header {name}: its value holds a line break, control or non-ASCII character"
                " (value not shown: header values are treated as secrets)"
            )
        resolved[name] = value
    return resolved


def redact_url(url: str | None) -> str | None:
    """``url`` without a password (``http://user:<redacted>@host``) or query string values."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{REDACTED}@{host}"
    query = "&".join(
        f"{pair.split('=', 1)[0]}={REDACTED}" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_value(value: str) -> str:
    """``<redacted>``, naming the environment variables the value is read from, if any."""
    names = _ENV_REF.findall(value)
    return f"{REDACTED} (from ${{{'}, ${'.join(names)}}})" if names else REDACTED


def redact_headers(headers: Mapping[str, str], safe: Iterable[str] = ()) -> dict[str, str]:
    """Headers fit to store: every value redacted unless its name is in ``safe``
    (case-insensitive, as header names are)."""
    keep = {name.lower() for name in safe}
    return {
        name: value if name.lower() in keep else redact_value(value)
        for name, value in headers.items()
    }


def redact_command(argv: Sequence[str], safe: Iterable[str] = ()) -> list[str]:
    """The command line with header values of ``--target-set headers.NAME=VALUE`` (and
    ``--target-set=...``, ``headers={...}``) redacted."""
    keep = {name.lower() for name in safe}
    out: list[str] = []
    expect_value = False
    for arg in argv:
        if expect_value:
            out.append(_redact_setting(arg, keep))
            expect_value = False
        elif arg == "--target-set":
            out.append(arg)
            expect_value = True
        elif arg.startswith("--target-set="):
            out.append("--target-set=" + _redact_setting(arg.split("=", 1)[1], keep))
        else:
            out.append(arg)
    return out


_URL_FIELDS = ("url", "metrics_url", "management_url")


def public_target(data: dict[str, Any], safe: Iterable[str] = ()) -> dict[str, Any]:
    """A dumped TargetSpec fit to store: header values and URL passwords/queries redacted."""
    out = {**data, "headers": redact_headers(data.get("headers") or {}, safe)}
    for field in _URL_FIELDS:
        if out.get(field):
            out[field] = redact_url(out[field])
    return out


def _redact_setting(setting: str, keep: set[str]) -> str:
    key, sep, value = setting.partition("=")
    if key in _URL_FIELDS and sep:
        return f"{key}={redact_url(value)}"
    if key.startswith("headers.") and key[len("headers.") :].lower() not in keep and sep:
        return f"{key}={redact_value(value)}"
    if key == "headers" and sep:
        return f"headers={REDACTED}"
    return setting


def hide_request_headers(spec: dict[str, Any], safe: Iterable[str] = ()) -> dict[str, Any]:
    """Move ``spec["request"]["headers"]`` into this process's environment (inherited by the
    engine processes it starts) and leave a redacted copy in ``spec`` (which is written to
    engine-spec.json). The inverse is ``restore_request_headers``."""
    headers = dict(spec["request"].get("headers") or {})
    resolve_headers(headers)  # refuse a missing variable or a bad value before the engine runs
    os.environ[HEADERS_ENV] = json.dumps(headers)
    keep = [*safe, *(name for name in headers if name.lower() in _PROTOCOL_HEADERS)]
    request = {
        **spec["request"],
        "headers": redact_headers(headers, keep),
        "address": redact_url(spec["request"]["address"]),  # host and port are what is used
    }
    return {**spec, "request": request, "headers_from_env": HEADERS_ENV}


def restore_request_headers(spec: dict[str, Any]) -> dict[str, Any]:
    """The engine's side: the real headers from the environment back into the spec (in
    memory only). A spec without ``headers_from_env`` is returned unchanged."""
    name = spec.get("headers_from_env")
    if not name:
        return spec
    headers = json.loads(os.environ.get(name) or "{}")
    rest = {k: v for k, v in spec.items() if k != "headers_from_env"}
    return {**rest, "request": {**spec["request"], "headers": headers}}
