"""Read rulebook YAML files defensively: regular files only, bounded size, no duplicate keys,
bounded alias expansion. Every refusal is a Japanese `RulebookError` naming file, key and value.

Why not plain `yaml.safe_load`: it keeps the last of two equal keys silently, and an alias bomb
("billion laughs") loads as a small shared graph that explodes later, when it is walked.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import RulebookError


MAX_FILE_BYTES = 1_000_000      # a rulebook file is a few kB; anything near this is not one
MAX_FILES = 64
MAX_EXPANDED_NODES = 200_000    # nodes after alias expansion, per file
MAX_DEPTH = 64                  # nesting of mappings/sequences


def regular_file(path: Path) -> None:
    """Refuse FIFOs, devices, sockets (also behind symlinks): reading them can block or never end."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise RulebookError(f"{path}: ファイルを開けません（{exc.strerror}）。") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("名前付きパイプ（FIFO）" if stat.S_ISFIFO(st.st_mode) else
                "デバイス" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "フォルダ" if stat.S_ISDIR(st.st_mode) else "通常のファイルではないもの")
        raise RulebookError(f"{path}: ルールブックのファイルが{kind}です。通常のYAMLファイルを指定してください。")
    if st.st_size > MAX_FILE_BYTES:
        raise RulebookError(f"{path}: ファイルが大きすぎます（{st.st_size:,}バイト、上限 {MAX_FILE_BYTES:,}バイト）。")


def rule_files(folder: Path) -> list[Path]:
    """The *.yaml files of a rulebook folder, sorted, each checked to be a regular file."""
    try:
        mode = os.stat(folder).st_mode
    except OSError:
        raise RulebookError(f"{folder}: ルールブックのフォルダがありません。") from None
    if not stat.S_ISDIR(mode):
        raise RulebookError(f"{folder}: ルールブックのフォルダではありません。")
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise RulebookError(f"{folder}: *.yaml ファイルがありません。")
    if len(files) > MAX_FILES:
        raise RulebookError(f"{folder}: YAMLファイルが多すぎます（{len(files)}件、上限 {MAX_FILES}件）。")
    for f in files:
        regular_file(f)
    return files


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and bounds alias expansion before constructing."""

    def compose_document(self):
        node = super().compose_document()
        _check_size(node, self.name)
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.get(key)
                except TypeError:
                    first = None  # unhashable key: construct_mapping below reports it
                if first is not None:
                    raise RulebookError(
                        f"{self.name}: キー「{key}」が重複しています（{first.line + 1}行目と"
                        f"{key_node.start_mark.line + 1}行目）。どちらか一方にしてください。")
                try:
                    seen[key] = key_node.start_mark
                except TypeError:
                    pass
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


def _check_size(root, name: str) -> None:
    """Count nodes as if every alias were expanded (memoised, so a bomb costs little to measure)."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > MAX_DEPTH:
            raise RulebookError(f"{name}: 入れ子が深すぎます（{MAX_DEPTH}段まで、{node.start_mark.line + 1}行目）。")
        if key in active:
            raise RulebookError(f"{name}: エイリアスが自分自身を参照しています（{node.start_mark.line + 1}行目）。")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        active.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise RulebookError(
                f"{name}: エイリアス（&・*）を展開すると要素が多すぎます（{node.start_mark.line + 1}行目付近、"
                f"上限 {MAX_EXPANDED_NODES:,}要素）。いわゆる「YAML爆弾」の可能性があるため読み込みません。")
        sizes[key] = total
        return total

    size(root, 0)


def read(path: Path) -> tuple[bytes, Any]:
    """One rulebook file: its bytes and its data, parsed with the checks above."""
    regular_file(path)
    with open(path, "rb") as fh:
        raw = fh.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise RulebookError(f"{path}: ファイルが大きすぎます（上限 {MAX_FILE_BYTES:,}バイト）。")
    return raw, parse_yaml(raw, str(path))


def parse_yaml(raw: bytes, name: str) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RulebookError(f"{name}: UTF-8 のテキストとして読めません。") from None
    loader = _Loader(text)
    loader.name = name
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}行目" if mark is not None else "位置不明"
        raise RulebookError(f"{name}: YAMLとして読めません（{where}: {getattr(exc, 'problem', None) or exc}）。") from None
    except RecursionError:
        raise RulebookError(f"{name}: 入れ子が深すぎます。") from None
    finally:
        loader.dispose()
