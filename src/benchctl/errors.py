"""Errors that the CLI turns into one line and an exit code."""


class BenchctlError(Exception):
    """A failure the user can act on; its message is one line."""

    exit_code = 1


class InputError(BenchctlError):
    """Bad input: a file, field or argument that is not allowed (exit code 2)."""

    exit_code = 2


def one_line(text: str) -> str:
    """``text`` on one line: newlines and runs of spaces become single spaces."""
    return " ".join(text.split())


class DamagedFileError(InputError, ValueError):
    """A file in a run directory that is missing, truncated or not what it should be.

    Also a ValueError, so code that already treats unreadable data as ValueError keeps
    working; the CLI shows it as one line with exit code 2."""
