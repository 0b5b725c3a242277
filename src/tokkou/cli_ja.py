"""argparse in Japanese: usage, help and error messages (option names stay English).

argparse takes its texts through gettext at call time (`argparse._`); a parser made and used inside
`japanese()` speaks Japanese. Texts not listed (a newer Python's additions) stay as argparse has them.
"""
from __future__ import annotations

import argparse
import contextlib
import re
from typing import Iterator

_TEXTS = {
    "usage: ": "使い方: ",
    "positional arguments": "引数",
    "options": "オプション",
    "optional arguments": "オプション",
    "show this help message and exit": "このヘルプを表示して終了する",
    "show program's version number and exit": "版を表示して終了する",
    "%(prog)s: error: %(message)s\n": "%(prog)s: エラー: %(message)s\n",
    "the following arguments are required: %s": "次の引数を指定してください: %s",
    "unrecognized arguments: %s": "知らない引数です: %s",
    "argument %(argument_name)s: %(message)s": "引数 %(argument_name)s: %(message)s",
    "invalid %(type)s value: %(value)r": "「%(value)s」は読めません（%(type)s）",
    "invalid choice: %(value)r (choose from %(choices)s)": "「%(value)s」は選べません（%(choices)s のいずれか）",
    "expected one argument": "値を1つ指定してください",
    "expected at least one argument": "値を1つ以上指定してください",
    "expected at most one argument": "値は1つまでです",
    "ambiguous option: %(option)s could match %(matches)s": "オプション %(option)s があいまいです（%(matches)s）",
    "not allowed with argument %s": "%s と同時には指定できません",
    "one of the arguments %s is required": "%s のどれかを指定してください",
    "ignored explicit argument %r": "値 %r は使えません",
    "can't open '%(filename)s': %(error)s": "%(filename)s を開けません: %(error)s",
    "unexpected option string: %s": "思いがけないオプション: %s",
}
_PLURALS = {
    "expected %s argument": "値を %s 個指定してください",
    "expected %s arguments": "値を %s 個指定してください",
}
_TYPE_NAMES = {"int": "整数", "float": "数値"}


def _gettext(message: str) -> str:
    return _TEXTS.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    chosen = singular if n == 1 else plural
    return _PLURALS.get(chosen, chosen)


@contextlib.contextmanager
def japanese() -> Iterator[None]:
    """Within the block argparse speaks Japanese; restored afterwards (tests call main() in-process)."""
    saved = argparse._, getattr(argparse, "ngettext", None)
    argparse._ = _gettext
    if saved[1] is not None:
        argparse.ngettext = _ngettext
    try:
        yield
    finally:
        argparse._ = saved[0]
        if saved[1] is not None:
            argparse.ngettext = saved[1]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error line names the value's kind in Japanese and exits with status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        message = re.sub(r"（(int|float)）", lambda m: f"（{_TYPE_NAMES[m.group(1)]}として）", message)
        super().error(message)


__all__ = ["japanese", "Parser"]
