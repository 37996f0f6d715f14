"""The interaction graph read from an edge list file (§2.2): parameter ``edge_list`` names the file.

Format: one undirected link per line, two node indices (0 … n_agents − 1) separated by a comma, tab or
spaces; blank lines and text after ``#`` are ignored; the first line may be a header naming the two
columns (``source,target``, ``src,dst``, ``from,to`` or ``i,j``). Each link is stored in both
directions; a link listed twice (either way round) is kept once. A relative path is taken from the
working directory. Anything else is a ``ConfigError`` naming the file, the line and the column.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from econsim.engine import ConfigError
from econsim.mechanisms import graph as graphs

HEADERS = {("source", "target"), ("src", "dst"), ("from", "to"), ("i", "j")}


def read_edges(path: str | Path, n_agents: int) -> tuple[np.ndarray, np.ndarray]:
    """(sources, targets) int32 of the file's distinct links, each once (i < j order not imposed)."""
    file = Path(path)
    where = f"edge_list '{path}'"
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file (a relative path is from the working directory)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read as text ({exc})") from None
    src: list[int] = []
    dst: list[int] = []
    first = True
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        fields = [(m.group(), m.start() + 1) for m in re.finditer(r"[^,\t ]+", line)]
        if first and tuple(f.lower() for f, _ in fields) in HEADERS:
            first = False
            continue
        first = False
        if len(fields) != 2:
            raise ConfigError(
                f"{where}, line {number}: expected 2 columns (source, target), found {len(fields)}: {raw.strip()!r}"
            )
        pair = []
        for col, (value, char) in enumerate(fields, start=1):
            if not value.isdigit():
                raise ConfigError(
                    f"{where}, line {number}, column {col} (character {char}): {value!r} is not a node index "
                    "(a whole number ≥ 0)"
                )
            node = int(value)
            if node >= n_agents:
                raise ConfigError(
                    f"{where}, line {number}, column {col} (character {char}): node {node} is outside "
                    f"0 … {n_agents - 1} (n_agents = {n_agents})"
                )
            pair.append(node)
        if pair[0] == pair[1]:
            raise ConfigError(f"{where}, line {number}: a link from node {pair[0]} to itself")
        src.append(pair[0])
        dst.append(pair[1])
    if not src:
        raise ConfigError(f"{where}: holds no links")
    a, b = np.array(src, np.int64), np.array(dst, np.int64)
    key = np.minimum(a, b) * n_agents + np.maximum(a, b)
    _, first_seen = np.unique(key, return_index=True)
    keep = np.sort(first_seen)
    return a[keep].astype(np.int32), b[keep].astype(np.int32)


def read_graph(path: str | Path, n_agents: int) -> graphs.Graph:
    """The undirected graph of the file, one CSR shared by every run."""
    src, dst = read_edges(path, n_agents)
    return graphs.from_edges(src, dst, n_agents)


def write_edges(path: str | Path, sources, targets) -> Path:
    """Write links as ``source,target`` lines with a header (the format ``read_edges`` reads)."""
    file = Path(path)
    lines = ["source,target"] + [f"{int(i)},{int(j)}" for i, j in zip(sources, targets, strict=True)]
    file.write_text("\n".join(lines) + "\n")
    return file
