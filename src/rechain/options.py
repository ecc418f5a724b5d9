"""Option types shared by the commands: whole numbers as a user types them, paths that are not empty."""

from __future__ import annotations

import re

import click

__all__ = ["WholeNumber", "NonEmptyPath"]

# what a user types for a whole number: ASCII digits, perhaps signed. Python's int() also takes
# '1_0' (10) and other scripts' digits ('٣', 3), which a typo or a paste makes silently
_DIGITS = re.compile(r"[+-]?[0-9]+")


class WholeNumber(click.IntRange):
    """``click.IntRange`` that takes a number only as digits 0-9 (optionally signed)."""

    name = "integer"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not _DIGITS.fullmatch(value.strip()):
            self.fail(f"{value!r} is not a whole number written in digits 0-9", param, ctx)
        return super().convert(value, param, ctx)


class NonEmptyPath(click.Path):
    """``click.Path`` that refuses an empty argument: ``pathlib.Path("")`` is ``.``, so an
    empty value (an unset shell variable, ``--out ""``) would otherwise be told as the
    current folder being a folder."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            what = "a folder's path" if not self.file_okay else "a file's path"
            self.fail(f"given an empty path ({value!r}); allowed: {what}", param, ctx)
        return super().convert(value, param, ctx)
