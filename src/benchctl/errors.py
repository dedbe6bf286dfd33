"""Errors that the CLI turns into one line and an exit code."""


class BenchctlError(Exception):
    """A failure the user can act on; its message is one line."""

    exit_code = 1


class InputError(BenchctlError):
    """Bad input: a file, field or argument that is not allowed (exit code 2)."""

    exit_code = 2
