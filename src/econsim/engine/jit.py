"""Compiled kernels with an on-disk cache kept out of the source tree.

``njit(**options)`` is ``numba.njit(cache=True, **options)`` with one difference: where numba would write
its cache. Numba picks a cache locator per function when the function is decorated: first the directory
``numba.config.CACHE_DIR`` (the ``NUMBA_CACHE_DIR`` environment variable), else the ``__pycache__`` folder
beside the source file if it is writable, else a user-wide folder. The second choice writes into the
package's source tree (``src/econsim/**/__pycache__/*.nbi``). We decorate with ``CACHE_DIR`` pointing at
:func:`cache_dir` for the duration of the decoration only, so numba files each kernel's cache there; the
environment and numba's configuration are left as they were.

Cache folder, first that applies: ``$NUMBA_CACHE_DIR`` (the user's choice, as numba itself reads it);
``$XDG_CACHE_HOME/econsim/numba``; ``~/.cache/econsim/numba``; a per-user folder in the temporary
directory when the home folder cannot be written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba


def cache_dir() -> str:
    """The folder econsim's compiled kernels are cached in (created if missing)."""
    user = os.environ.get("NUMBA_CACHE_DIR", "").strip()
    if user:
        return user
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    candidates = [Path(base) / "econsim" / "numba"]
    candidates.append(
        Path(tempfile.gettempdir()) / f"econsim-numba-{os.getuid() if hasattr(os, 'getuid') else 0}"
    )
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return str(folder)
    return str(candidates[-1])


def fork_safe_threads() -> None:
    """Run ``parallel=True`` kernels on numba's own ``workqueue`` threads unless the user chose a layer
    (``NUMBA_THREADING_LAYER``). numba would otherwise pick GNU OpenMP where it is installed, and a
    process that has used GNU OpenMP cannot fork: the process executor's forked workers abort
    ("fork() called from a process already using GNU OpenMP"). Takes effect before the first
    parallel call only, so it is applied when a parallel kernel is declared."""
    if not os.environ.get("NUMBA_THREADING_LAYER", "").strip() and numba.config.THREADING_LAYER == "default":  # type: ignore[attr-defined]
        numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]


def njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)``, cached under :func:`cache_dir` (never in the source tree);
    parallel kernels run on fork-safe threads (:func:`fork_safe_threads`)."""
    if options.get("parallel"):
        fork_safe_threads()

    def decorate(fn: Callable[..., Any]) -> Any:
        config = numba.config
        saved = config.CACHE_DIR  # type: ignore[attr-defined]
        config.CACHE_DIR = cache_dir()  # type: ignore[attr-defined]
        try:
            return numba.njit(cache=True, **options)(fn)
        finally:
            config.CACHE_DIR = saved  # type: ignore[attr-defined]

    return decorate
