"""Option types shared by the commands: whole numbers as a user types them."""

from __future__ import annotations

import re

import click

__all__ = ["WholeNumber"]

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
