"""User-facing errors.

Every bad input (missing file, wrong shape, NaN, unknown key, ...) raises `UserError` with a message
of the form ``<path or key>: <problem>; <fix>``. Entry scripts wrap their ``main`` with
`unsup3d.cli.cli_main`, which prints ``error: <message>`` on stderr and returns exit status 2,
without a traceback.
"""


class UserError(Exception):
    """An error caused by the user's input; its message says what is wrong and how to fix it."""
