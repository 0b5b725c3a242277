"""argparse in Japanese: usage, help and error messages (option names stay English).

argparse takes its texts through gettext at call time (`argparse._`); a parser made and used inside
`japanese()` speaks Japanese. Texts not listed (a newer Python's additions) stay as argparse has them.
"""
from __future__ import annotations

import argparse
import contextlib
import re
import unicodedata
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


def display_width(text: str) -> int:
    """Terminal columns: wide and full-width characters (漢字, かな) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help with columns counted as the terminal shows them: a Japanese placeholder
    (`-o 出力`) takes two columns per character, so the help texts still line up."""

    def add_argument(self, action):
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            wide = display_width(self._format_action_invocation(action)) + self._current_indent
            self._action_max_length = max(self._action_max_length, wide)

    def _format_action(self, action):
        text = super()._format_action(action)
        header = self._format_action_invocation(action)
        extra = display_width(header) - len(header)
        lead = " " * self._current_indent + header
        if not extra or not action.help or not text.startswith(lead):
            return text
        first, nl, rest = text.partition("\n")
        after = first[len(lead):]
        help_first = after.lstrip(" ")
        if not help_first:  # the header stands alone on its line already
            return text
        spaces = len(after) - len(help_first) - extra
        if spaces >= 2:
            return lead + " " * spaces + help_first + nl + rest
        position = min(self._action_max_length + 2, self._max_help_position)
        return lead + "\n" + " " * position + help_first + nl + rest

    def _format_usage(self, usage, actions, groups, prefix):
        text = super()._format_usage(usage, actions, groups, prefix)
        if all(display_width(line) <= self._width for line in text.splitlines()):
            return text
        # re-fold by terminal columns: argparse counted a Japanese placeholder as one column a character
        head, _, body = text.partition(self._prog)
        lead = head + self._prog
        indent = " " * display_width(lead + " ")
        lines, line = [], lead
        for part in re.findall(r"\[[^\]]*\]|\S+", body):
            if display_width(line + " " + part) > self._width and line not in (lead, indent):
                lines.append(line)
                line = indent + part
            else:
                line = (line + " " + part) if line != indent else line + part
        return "\n".join(lines + [line]) + "\n\n"

    def _split_lines(self, text, width):
        return wrap(self._whitespace_matcher.sub(" ", text).strip(), width)

    def _fill_text(self, text, width, indent):
        return "\n".join(indent + line for line in wrap(self._whitespace_matcher.sub(" ", text).strip(), width))


_TOKEN = re.compile(r"[\x21-\x7e]+|\s+|.")  # an ASCII word stays whole; any other character stands alone
_NO_LINE_START = set("、。，．）」』】〕・ー")


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` terminal columns (wide characters count two), broken between
    Japanese characters or at spaces, never inside an ASCII word nor before 、。）」."""
    lines: list[str] = []
    line, used = "", 0
    for tok in _TOKEN.findall(text):
        w = display_width(tok)
        if tok.isspace():
            if line:
                line, used = line + " ", used + 1
            continue
        if used + w > width and line.strip() and tok[0] not in _NO_LINE_START:
            lines.append(line.rstrip())
            line, used = "", 0
        line, used = line + tok, used + w
    if line.strip():
        lines.append(line.rstrip())
    return lines


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error line names the value's kind in Japanese and exits with status 2;
    its help lines up Japanese placeholders (HelpFormatter)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D401 - argparse API
        message = re.sub(r"（(int|float)）", lambda m: f"（{_TYPE_NAMES[m.group(1)]}として）", message)
        super().error(message)


__all__ = ["japanese", "Parser", "HelpFormatter", "display_width", "wrap"]
