"""Compiled kernels written for one run and mapped over the batch by the engine.

A kernel that must loop over agents (a sequential walk, a branch per agent) is written for ONE run:
its array arguments are that run's slices. ``per_run`` turns it into a function of the whole batch,

    mapped(a₁, …, a_k)  ≡  for b in 0 … B − 1:  kernel(a₁[b] if a₁ is batched else a₁, …, a_k[b] | a_k)

where a batched argument has the run axis b first (shape (B, …); a (B,) array reaches the kernel as one
number per run) and a shared argument (static data of the batch, a scalar, a graph shared by every run)
is passed through unchanged. The loop over b is generated from a small template and compiled by numba
together with the call, so there is no Python-level call per run. With ``parallel=True`` a batch of
several runs is spread over threads (``for b in prange(B)``, each run on one thread, the kernel built
without its own ``parallel``: numba does not nest parallel regions), while a single run goes through the
serial loop, where a kernel compiled with ``parallel=True`` may spread its own work (its regions, say)
over the threads. Each run only reads its own slices and the shared arguments and writes its own
slices, so the result is bit-identical whether the runs go serially, in parallel, or one at a time
through a Python loop (``mapped.python_loop``) — provided the kernel's own parallel loop, if any, keeps
each sum on one thread.

numba is imported when a kernel is first called, never at import: ``import econsim.engine`` stays light.

    @per_run(shared=("weights",))
    def weighted_sum(x_n, weights, out):      # one run: x_n (N,), out () → a 1-element slice
        total = 0.0
        for i in range(x_n.shape[0]):
            total += weights[i] * x_n[i]
        out[0] = total

    out_b1 = np.zeros((B, 1));  weighted_sum(x_bn, w_n, out_b1)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from econsim.engine.errors import ConfigError

__all__ = ["Kernel", "RunMap", "jit", "per_run"]


class Kernel:
    """A function compiled by ``numba.njit(**options)`` on its first call (numba imported only then)."""

    def __init__(self, fn: Callable[..., Any], **options: Any) -> None:
        self.py_func = getattr(fn, "py_func", fn)
        self.options = options
        self._dispatcher: Any = fn if hasattr(fn, "py_func") else None
        self._serial: Any = None
        self.__name__ = self.py_func.__name__
        self.__doc__ = self.py_func.__doc__
        self.__wrapped__ = self.py_func

    @property
    def dispatcher(self) -> Any:
        """The numba dispatcher (compiling happens per argument types, at the first call with them); with
        ``cache=True`` cached on disk under ``engine.jit.cache_dir()``, outside the source tree."""
        if self._dispatcher is None:
            options = dict(self.options)
            if options.pop("cache", False):
                from econsim.engine.jit import njit

                self._dispatcher = njit(**options)(self.py_func)
            else:
                import numba

                from econsim.engine.jit import fork_safe_threads

                if options.get("parallel"):
                    fork_safe_threads()
                self._dispatcher = numba.njit(**options)(self.py_func)
        return self._dispatcher

    @property
    def parallel(self) -> bool:
        """Whether the kernel spreads its own work over threads (compiled with ``parallel=True``)."""
        if self._dispatcher is not None and hasattr(self._dispatcher, "targetoptions"):
            return bool(self._dispatcher.targetoptions.get("parallel"))
        return bool(self.options.get("parallel"))

    def serial(self) -> Any:
        """A dispatcher of the same function and options without ``parallel`` (``prange`` is ``range``),
        for callers that are themselves spread over threads. Not cached on disk: numba's cache does not
        tell a serial build from a parallel one of the same function."""
        if self._serial is None:
            import numba

            options = dict(self.options)
            if self._dispatcher is not None and hasattr(self._dispatcher, "targetoptions"):
                options.update(self._dispatcher.targetoptions)
            for key in ("parallel", "cache", "nopython"):
                options.pop(key, None)
            self._serial = numba.njit(**options)(self.py_func)
        return self._serial

    def __call__(self, *args: Any) -> Any:
        return self.dispatcher(*args)


def jit(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``numba.njit`` without importing numba until the first call: ``@jit(cache=True)``."""
    if fn is None:
        return lambda f: Kernel(f, **options)
    return Kernel(fn, **options)


class RunMap:
    """A one-run kernel mapped over the runs of a batch (see the module docstring)."""

    def __init__(
        self,
        kernel: Callable[..., Any],
        batched: Iterable[str] | None = None,
        shared: Iterable[str] | None = None,
        parallel: bool = False,
        **options: Any,
    ) -> None:
        self.kernel = kernel if isinstance(kernel, Kernel) else Kernel(kernel, **options)
        self.names = tuple(inspect.signature(self.kernel.py_func).parameters)
        if batched is not None and shared is not None:
            raise ConfigError("per_run: name the batched arguments or the shared ones, not both")
        if batched is not None:
            batched = tuple(batched)
            wrong = [n for n in batched if n not in self.names]
            self.batched = tuple(n in batched for n in self.names)
        else:
            shared = tuple(shared or ())
            wrong = [n for n in shared if n not in self.names]
            self.batched = tuple(n not in shared for n in self.names)
        if wrong:
            raise ConfigError(
                f"per_run({self.kernel.__name__}): no argument named {wrong}; arguments: {list(self.names)}"
            )
        if not any(self.batched):
            raise ConfigError(f"per_run({self.kernel.__name__}): at least one argument must be batched")
        self.parallel = bool(parallel)
        self.__name__ = self.kernel.__name__
        self.__doc__ = self.kernel.__doc__
        self._loops: dict[bool, Any] = {}

    def source(self, over_threads: bool | None = None) -> str:
        """The generated loop over runs (what numba compiles): ``range``, or ``prange`` when the runs go to
        threads (``over_threads``, by default whether the map is parallel)."""
        over_threads = self.parallel if over_threads is None else over_threads
        args = ", ".join(self.names)
        call = ", ".join(
            f"{n}[_b]" if batched else n for n, batched in zip(self.names, self.batched, strict=True)
        )
        first = self.names[self.batched.index(True)]
        name = f"{self.__name__}_{'threads' if over_threads else 'serial'}"
        return (
            f"def {name}({args}):\n"
            f"    for _b in {'_prange' if over_threads else 'range'}({first}.shape[0]):\n"
            f"        _kernel({call})\n"
        )

    @property
    def loop(self) -> Any:
        """The compiled loop over runs of a batch of several runs (see ``loop_for``)."""
        return self.loop_for(self.parallel)

    def loop_for(self, over_threads: bool) -> Any:
        """The compiled loop over runs, cached on disk unless the kernel says ``cache=False``.

        Serial: ``for b in range(B)``, calling the kernel as given (which may spread its own work over
        threads). Over threads: ``for b in prange(B)``, calling a serial build of the kernel (numba cannot
        nest parallel regions); each run stays on one thread."""
        loop = self._loops.get(over_threads)
        if loop is None:
            import numba

            source = self.source(over_threads)
            kernel = self.kernel.serial() if over_threads else self.kernel.dispatcher
            path = _source_file(self.kernel, source) if self.kernel.options.get("cache", True) else None
            namespace: dict[str, Any] = {
                "_kernel": kernel,
                "_prange": numba.prange,
                # numba's disk cache rebuilds a function's environment from its module's name
                "__name__": self.kernel.py_func.__module__,
            }
            exec(compile(source, path or f"<per_run {self.__name__}>", "exec"), namespace)
            function = namespace[f"{self.__name__}_{'threads' if over_threads else 'serial'}"]
            if path is None:
                from econsim.engine.jit import fork_safe_threads

                if over_threads:
                    fork_safe_threads()
                loop = numba.njit(parallel=over_threads)(function)
            else:
                from econsim.engine.jit import njit

                loop = njit(parallel=over_threads)(function)
                if not over_threads and self.kernel.parallel:
                    # a loop loaded from the disk cache does not start numba's thread pool for the
                    # parallel kernel linked into it (numba starts it when it compiles or loads that
                    # kernel itself); calling into the kernel's threads without it crashes the process
                    numba.get_num_threads()
            self._loops[over_threads] = loop
        return loop

    def _check(self, args: tuple[Any, ...]) -> int:
        """The number of runs, once every batched argument is checked to have it on its leading axis."""
        if len(args) != len(self.names):
            raise TypeError(f"{self.__name__}() takes {len(self.names)} arguments, got {len(args)}")
        n_runs = None
        for name, value, batched in zip(self.names, args, self.batched, strict=True):
            if not batched:
                continue
            shape = np.shape(value)
            if not isinstance(value, np.ndarray) or not shape:
                raise ConfigError(
                    f"{self.__name__}: argument '{name}' is batched, so it must be an array with the run "
                    f"axis first; got {type(value).__name__} of shape {shape}"
                )
            if n_runs is None:
                n_runs, first = shape[0], name
            elif shape[0] != n_runs:
                raise ConfigError(
                    f"{self.__name__}: batched argument '{name}' has {shape[0]} runs on its leading axis, "
                    f"'{first}' has {n_runs}"
                )
        return int(n_runs or 0)

    def __call__(self, *args: Any) -> None:
        n_runs = self._check(args)
        # one run goes through the serial loop: its kernel may still spread its own work over threads
        self.loop_for(self.parallel and n_runs > 1)(*args)

    def python_loop(self, *args: Any) -> None:
        """The same map as a Python loop over runs calling the compiled kernel (a reference for tests)."""
        self._check(args)
        n_runs = args[self.batched.index(True)].shape[0]
        for b in range(n_runs):
            self.kernel(*(a[b] if batched else a for a, batched in zip(args, self.batched, strict=True)))


def _source_file(kernel: Kernel, source: str) -> str | None:
    """A file holding ``source``, so that numba can cache the compiled loop like any module function.

    Named after a hash of the loop, the kernel's source and its module file's size and modification time:
    editing the kernel's module makes a new file, as it invalidates numba's cache of the kernel itself
    (numba checks only a cached function's own file, not those of the functions it calls). Written once,
    atomically, in ``per_run/`` of the kernel cache folder (``engine.jit.cache_dir()``, outside the source
    tree); None (no disk cache) where that cannot be written.
    """
    import hashlib
    import os
    import tempfile

    try:
        module_file = inspect.getfile(kernel.py_func)
        kernel_source = inspect.getsource(kernel.py_func)
        stamp = os.stat(module_file)
    except (OSError, TypeError):
        return None
    key = [
        source,
        kernel_source,
        repr(sorted(kernel.options.items())),
        f"{stamp.st_mtime_ns} {stamp.st_size}",
    ]
    digest = hashlib.sha256("\0".join(key).encode()).hexdigest()[:16]
    from econsim.engine.jit import cache_dir

    folder = os.path.join(cache_dir(), "per_run")
    path = os.path.join(folder, f"{kernel.py_func.__module__}.{kernel.__name__}_{digest}.py")
    if os.path.exists(path):
        return path
    try:
        os.makedirs(folder, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            out.write(source)
        os.replace(temporary, path)
    except OSError:
        return None
    return path


def per_run(
    kernel: Callable[..., Any] | None = None,
    *,
    batched: Iterable[str] | None = None,
    shared: Iterable[str] | None = None,
    parallel: bool = False,
    **options: Any,
) -> Any:
    """Map a one-run kernel over the batch: ``per_run(kernel)`` or ``@per_run(shared=("bounds",))``.

    ``kernel`` is an ``@njit`` dispatcher, a ``jit`` kernel, or a plain function (compiled with
    ``numba.njit(**options)``, e.g. ``cache=True, fastmath=True``; ``cache=True`` caches it and the loop
    under ``engine.jit.cache_dir()``). Every argument is batched unless named in ``shared`` (or only
    those in ``batched`` are). Outputs are batched arrays the kernel writes into; its return value is
    discarded.
    """
    if kernel is None:
        return lambda k: RunMap(k, batched, shared, parallel, **options)
    return RunMap(kernel, batched, shared, parallel, **options)
