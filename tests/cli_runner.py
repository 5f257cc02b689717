"""Run `patron-desk` command lines in the test process and keep what they printed (as Click's runner did)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    exit_code: int
    output: str  # standard output and error, interleaved as written
    stdout: str
    stderr: str


class _Both(io.StringIO):
    def __init__(self, into: list[str]) -> None:
        super().__init__()
        self.into = into

    def write(self, text: str) -> int:
        self.into.append(text)
        return super().write(text)


class CliRunner:
    """``CliRunner().invoke(cli, ["check"])``: the exit status and everything printed."""

    def invoke(self, cli: Callable[[list[str]], int], args: list[str]) -> Result:
        both: list[str] = []
        out, err = _Both(both), _Both(both)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli(list(args))
        return Result(code, "".join(both), out.getvalue(), err.getvalue())
