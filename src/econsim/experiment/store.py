"""The results folder: one owner at a time, a manifest, and one sealed Parquet part per finished batch.

    <out>/.lock                          locked (flock) by the command writing the folder; names it
    <out>/manifest.json                  configuration, seed, fingerprint, batches, versions, status, wall time
    <out>/parts/batch-000012.parquet     the batch's tidy table
    <out>/parts/batch-000012.seal.json   the part's seal: batch, runs, fingerprint, rows, size, sha256
    <out>/parts/batch-000012.final.npz   the model's final-state arrays (models that keep them)
    <out>/checkpoints/batch-000012.npz   a running batch's latest checkpoint (``experiment.checkpoint``)

Writing. A command that writes a folder first takes its lock: ``fcntl.flock`` on ``.lock``, which the
kernel drops when the process dies, so a lock is never left behind by a crash; the file holds the
owner's pid, host, command and start time, so a second writer is refused with the first one's name
(a suspended process still owns its folder). A lock file that names an owner but is not locked was
left by a process that died: it is taken over, and said so. ``--overwrite`` takes the lock before it
deletes anything.

A part is written to a temporary name while its bytes are hashed, its seal is written, and only then is
the part renamed into place: after a crash or Ctrl-C the parts present are the finished batches.

Verifying. A part is good when its seal exists, names this folder's experiment (its fingerprint) and
the batch's runs, and the part's size and sha256 match the seal (and its final-state file's). Resuming
checks every part in full and recomputes the damaged or foreign ones, naming them; ``load`` checks the
seals and sizes at once and each part's hash as it reads it (reading costs more than hashing), and
refuses a damaged part. ``econsim verify OUT`` checks a whole folder. A damaged manifest is an error:
``--overwrite`` starts the experiment again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from econsim import __version__
from econsim.engine.errors import ConfigError, EconsimError, EconsimWarning
from econsim.experiment.plan import Plan

try:
    import fcntl
except ImportError:  # not POSIX: folders are not locked (documented in the README)
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
PARTS = "parts"
CHECKPOINTS = "checkpoints"
LOCK = ".lock"
FORMAT = 2
#: the keys every manifest has, with their types
MANIFEST_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "model": str,
    "status": str,
    "fingerprint": str,
    "seed": int,
    "n_runs_total": int,
    "batches": list,
    "subsets": list,
    "swept": list,
    "runs": int,
    "steps": int,
}


class StoreError(EconsimError):
    """A results folder is damaged, holds something else, cannot be written, or has another writer."""


class FolderInUseError(StoreError):
    """Another live process writes the results folder."""


class StoreWarning(EconsimWarning):
    """Something about a results folder was repaired: a stale lock taken over, a damaged part recomputed."""


def fingerprint(plan: Plan) -> str:
    """Hash of everything that determines the results, the resolved seed included."""
    spec = {**plan.config.results_fingerprint(), "seed": plan.seed}
    return digest_of(spec)


def digest_of(spec: Any) -> str:
    """A short stable hash of JSON-ready data."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.cache
def git_revision() -> str | None:
    """The econsim source tree's git revision, when it is a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


# --------------------------------------------------------------------------- parts and their seals


@dataclass(frozen=True)
class PartTarget:
    """Where a batch's part goes and what its seal says: batch index, global runs [start, stop), and the
    experiment's fingerprint."""

    path: str
    index: int
    runs: tuple[int, int]
    fingerprint: str
    #: checkpoint the running batch every this many steps and/or seconds (``experiment.checkpoint``)
    checkpoint_every_steps: int | None = None
    checkpoint_every_s: float | None = None

    @property
    def checkpoints(self) -> bool:
        return bool(self.checkpoint_every_steps or self.checkpoint_every_s)


def seal_path(part_path: str | Path) -> Path:
    part_path = Path(part_path)
    return part_path.with_name(f"{part_path.stem}.seal.json")


def checkpoint_path(part_path: str | Path) -> Path:
    """Where a running batch's checkpoint lives: ``<out>/checkpoints/batch-000012.npz``."""
    part_path = Path(part_path)
    return part_path.parent.parent / CHECKPOINTS / f"{part_path.stem}.npz"


def final_state_path(part_path: str | Path) -> Path:
    """Where a part's final-state arrays live: beside it, ``batch-000012.final.npz``."""
    part_path = Path(part_path)
    return part_path.with_name(f"{part_path.stem}.final.npz")


class _HashingSink(io.RawIOBase):
    """A write-only file that hashes what passes through it, so a part is hashed as it is written."""

    def __init__(self, raw: io.BufferedWriter) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def tell(self) -> int:
        return self.size


def _file_digest(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_part(
    target: PartTarget,
    table: pa.Table,
    final: dict[str, np.ndarray] | None = None,
    use_dictionary: bool | list[str] = True,
    compression: str = "lz4",
) -> None:
    """Write a batch's part (and final-state arrays) atomically, sealed with its size and hash.

    Order: final state, part under a temporary name (hashed while written), seal, rename of the part.
    A part in place therefore always has its seal and final state; a seal without its part is an
    unfinished batch."""
    path = Path(target.path)
    try:
        final_seal = None
        if final is not None:
            final_tmp = path.with_name(f".{path.stem}.final.{os.getpid()}.npz")
            np.savez_compressed(final_tmp, **cast(dict[str, Any], final))
            final_seal = _file_digest(final_tmp)
            os.replace(final_tmp, final_state_path(path))
        metadata = {
            **(table.schema.metadata or {}),
            b"econsim.fingerprint": target.fingerprint.encode(),
            b"econsim.batch": str(target.index).encode(),
            b"econsim.runs": f"{target.runs[0]}:{target.runs[1]}".encode(),
        }
        table = table.replace_schema_metadata(metadata)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as raw:
            sink = _HashingSink(raw)
            pq.write_table(table, sink, compression=compression, use_dictionary=use_dictionary)
        seal = {
            "format": FORMAT,
            "batch": target.index,
            "runs": list(target.runs),
            "fingerprint": target.fingerprint,
            "rows": table.num_rows,
            "bytes": sink.size,
            "sha256": sink.sha.hexdigest(),
            "final": final_seal,
        }
        seal_tmp = path.with_name(f".{path.stem}.seal.{os.getpid()}.tmp")
        seal_tmp.write_text(json.dumps(seal, indent=1))
        os.replace(seal_tmp, seal_path(path))
        os.replace(tmp, path)
        checkpoint_path(path).unlink(missing_ok=True)  # the finished part supersedes it
    except OSError as exc:
        raise StoreError(f"cannot write the part '{path}': {_reason(exc)}") from None


def read_seal(part_path: Path) -> dict[str, Any] | str:
    """The part's seal, or why there is none to trust."""
    path = seal_path(part_path)
    try:
        seal = json.loads(path.read_text())
    except FileNotFoundError:
        return "has no seal (it was not written by this version of econsim, or its seal was deleted)"
    except (OSError, ValueError) as exc:
        return f"has a damaged seal ({exc})"
    kinds = {"batch": int, "runs": list, "fingerprint": str, "bytes": int, "sha256": str}
    if not isinstance(seal, dict) or not all(isinstance(seal.get(k), t) for k, t in kinds.items()):
        return "has a damaged seal (keys missing or of the wrong type)"
    final = seal.get("final")
    if len(seal["runs"]) != 2 or (
        final is not None and not (isinstance(final, dict) and {"bytes", "sha256"} <= set(final))
    ):
        return "has a damaged seal (keys missing or of the wrong type)"
    return seal


def check_part(
    part_path: Path, index: int, runs: tuple[int, int], expected_fingerprint: str, full: bool
) -> str | None:
    """Why the part of batch ``index`` cannot be trusted, or None when it is good. Without ``full``
    only the seal and the sizes are checked (no bytes read)."""
    seal = read_seal(part_path)
    if isinstance(seal, str):
        return seal
    if seal["fingerprint"] != expected_fingerprint:
        return (
            f"belongs to another experiment (fingerprint {seal['fingerprint']}, this folder's is "
            f"{expected_fingerprint})"
        )
    if seal["batch"] != index or list(seal["runs"]) != list(runs):
        return (
            f"holds batch {seal['batch']} (runs {seal['runs'][0]}–{seal['runs'][1] - 1}), not batch {index} "
            f"(runs {runs[0]}–{runs[1] - 1})"
        )
    files = [(part_path, seal, "the part")]
    if seal.get("final") is not None:
        path = final_state_path(part_path)
        files.append((path, seal["final"], f"its final-state file {path.name}"))
    for path, expected, what in files:
        try:
            size = path.stat().st_size
        except OSError as exc:
            return f"cannot be read: {what}: {_reason(exc)}"
        if size != expected["bytes"]:
            return f"is damaged: {what} has {size} bytes, its seal says {expected['bytes']}"
        if full:
            try:
                actual = _file_digest(path)["sha256"]
            except OSError as exc:
                return f"cannot be read: {what}: {_reason(exc)}"
            if actual != expected["sha256"]:
                return f"is damaged: the bytes of {what} do not match its seal's checksum"
    return None


def read_part(
    part_path: Path, verify: bool = True, columns: list[str] | None = None, filters=None
) -> pa.Table:
    """A part's table; with ``verify`` its bytes are checked against its seal first (one read). Only
    ``columns`` (those the part has; all when None) and the rows matching ``filters`` (pyarrow's DNF)
    are decoded."""
    try:
        data = part_path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read the part '{part_path}': {_reason(exc)}") from None
    if verify:
        seal = read_seal(part_path)
        if isinstance(seal, str):
            raise StoreError(f"part '{part_path}' {seal}")
        if len(data) != seal["bytes"] or hashlib.sha256(data).hexdigest() != seal["sha256"]:
            raise StoreError(
                f"part '{part_path}' is damaged: its bytes do not match its checksum; run the same "
                "command again to recompute it"
            )
    try:
        if columns is None and filters is None:
            return pq.read_table(pa.BufferReader(data))
        if columns is not None:
            names = pq.read_schema(pa.BufferReader(data)).names
            columns = [c for c in columns if c in names]
        return pq.read_table(pa.BufferReader(data), columns=columns, filters=filters)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise StoreError(f"part '{part_path}' cannot be read as Parquet ({exc})") from None


def read_final(part_path: Path, verify: bool = True) -> dict[str, np.ndarray] | None:
    """A part's final-state arrays (None if it has none), checked against its seal."""
    path = final_state_path(part_path)
    if not path.is_file():
        return None
    data = path.read_bytes()
    if verify:
        seal = read_seal(part_path)
        expected = seal.get("final") if isinstance(seal, dict) else None
        if expected is None or hashlib.sha256(data).hexdigest() != expected["sha256"]:
            raise StoreError(f"final-state file '{path}' is damaged: it does not match its part's seal")
    try:
        return dict(np.load(io.BytesIO(data)))
    except (OSError, ValueError) as exc:
        raise StoreError(f"final-state file '{path}' cannot be read ({exc})") from None


# --------------------------------------------------------------------------- the manifest


def validate_manifest(raw: Any, where: str) -> dict[str, Any]:
    """The manifest if it is whole: every key present and typed, and batches that tile the runs."""
    if not isinstance(raw, dict):
        raise StoreError(f"{where} is damaged: it holds a {type(raw).__name__}, not a manifest")
    if raw.get("format") != FORMAT:
        raise StoreError(
            f"{where} has format {raw.get('format')!r}; this econsim reads format {FORMAT} (results "
            "folders with part checksums). Re-run with --overwrite, or read it unchecked with "
            "econsim.load(folder, verify=False)"
        )
    for key, kind in MANIFEST_KEYS.items():
        if key not in raw:
            raise StoreError(f"{where} is damaged: the key '{key}' is missing")
        if not isinstance(raw[key], kind) or isinstance(raw[key], bool):
            raise StoreError(f"{where} is damaged: '{key}' is a {type(raw[key]).__name__}")
    expected = 0
    for i, batch in enumerate(raw["batches"]):
        if (
            not isinstance(batch, list)
            or len(batch) != 2
            or not all(isinstance(x, int) for x in batch)
            or batch[0] != expected
            or batch[1] <= batch[0]
        ):
            raise StoreError(f"{where} is damaged: batch {i} is {batch!r}, expected runs from {expected}")
        expected = batch[1]
    if expected != raw["n_runs_total"]:
        raise StoreError(
            f"{where} is damaged: its {len(raw['batches'])} batches cover runs 0–{expected - 1}, "
            f"not all {raw['n_runs_total']} runs (the batch list was shortened)"
        )
    return raw


def read_manifest_file(path: Path) -> dict[str, Any] | None:
    """The JSON of a manifest file, None if there is none; a StoreError if it is empty or not JSON."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read '{path}': {_reason(exc)}") from None
    if not data.strip():
        raise StoreError(f"'{path}' is damaged: it is empty")
    try:
        return json.loads(data)
    except ValueError as exc:  # UnicodeDecodeError included
        raise StoreError(f"'{path}' is damaged: it is not valid JSON ({exc})") from None


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to the manifest")


def plan_manifest(plan: Plan) -> dict[str, Any]:
    """The manifest fields that describe a native experiment."""
    return {
        "model": plan.model_name,
        "name": plan.config.name,
        "fingerprint": fingerprint(plan),
        "seed": plan.seed,
        "config": {**plan.config.model_dump(mode="json", exclude_none=True), "seed": plan.seed},
        "swept": plan.swept,
        "subsets": plan.subsets,
        "runs": plan.runs,
        "n_runs_total": plan.n_runs_total,
        "steps": plan.config.steps,
        "record_every": plan.config.record_every,
        "batches": [list(b) for b in plan.batches],
    }


# --------------------------------------------------------------------------- the lock


def _owner_text(owner: dict[str, Any]) -> str:
    if not owner:
        return "another process (which did not name itself)"
    return f"pid {owner.get('pid')} on {owner.get('host')} (`{owner.get('command')}`, since {owner.get('since')})"


def _command() -> str:
    """This process's command line as the user typed it (``econsim run …`` for ``python -m econsim.cli``)."""
    if not sys.argv or not sys.argv[0]:
        return "python"
    program = Path(sys.argv[0])
    name = "econsim" if program.name == "cli.py" and program.parent.name == "econsim" else program.name
    return shlex.join([name, *sys.argv[1:]])


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OverflowError):
        return True
    return True


def _read_owner(fd: int) -> dict[str, Any]:
    try:
        text = os.pread(fd, 1 << 16, 0).decode()
        owner = json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {"pid": "?", "host": "?", "command": "? (unreadable lock file)", "since": "?"}
    return owner if isinstance(owner, dict) else {}


# --------------------------------------------------------------------------- the folder


class ResultStore:
    """Reads and writes one results folder. Writing needs the folder's lock: ``with store: ...`` (or
    ``lock()`` … ``unlock()``); ``open`` takes it too."""

    def __init__(self, out: str | Path) -> None:
        self.folder = Path(out)
        self.parts = self.folder / PARTS
        self._lock_fd: int | None = None

    # --- names -------------------------------------------------------------------------------------
    def part_path(self, index: int) -> Path:
        return self.parts / f"batch-{index:06d}.parquet"

    def target(
        self,
        index: int,
        runs: tuple[int, int],
        fp: str,
        checkpoint_every_steps: int | None = None,
        checkpoint_every_s: float | None = None,
    ) -> PartTarget:
        return PartTarget(
            str(self.part_path(index)),
            index,
            (int(runs[0]), int(runs[1])),
            fp,
            checkpoint_every_steps,
            checkpoint_every_s,
        )

    # --- the lock ----------------------------------------------------------------------------------
    def __enter__(self) -> ResultStore:
        self.lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()

    @property
    def locked(self) -> bool:
        return self._lock_fd is not None

    def lock(self) -> None:
        """Become the folder's only writer, or raise FolderInUseError naming the one there is."""
        if self._lock_fd is not None:
            return
        self._check_is_results_folder()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot write the results folder '{self.folder}': {_reason(exc)}") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                same_host = owner.get("host") == socket.gethostname()
                gone = same_host and "pid" in owner and not _alive(owner["pid"])
                raise FolderInUseError(
                    f"results folder '{self.folder}' is being written by {_owner_text(owner)}"
                    + (
                        "; that process has exited but its worker processes still hold the folder"
                        if gone
                        else ""
                    )
                    + ". Wait for it to finish (or stop it), or choose another --out"
                ) from None
        stale = _read_owner(fd) if fcntl is not None else {}
        if stale:  # a clean exit empties the file: an owner named here died holding the folder
            warnings.warn(
                f"results folder '{self.folder}': taking over the lock of {_owner_text(stale)}, "
                "which is no longer running",
                StoreWarning,
                stacklevel=3,
            )
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": _command(),
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "econsim_version": __version__,
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(owner).encode(), 0)
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot write the results folder '{self.folder}': {_reason(exc)}") from None
        self._lock_fd = fd

    def unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # an empty lock file says its last owner finished cleanly
        os.close(fd)  # closing drops the flock (forked workers that share it have exited by now)

    def _check_is_results_folder(self) -> None:
        if self.folder.exists() and not self.folder.is_dir():
            raise StoreError(f"results folder '{self.folder}' is a file, not a folder; choose another --out")
        if not self.folder.is_dir():
            return
        try:
            names = {p.name for p in self.folder.iterdir()}
        except OSError as exc:
            raise StoreError(f"cannot read the results folder '{self.folder}': {_reason(exc)}") from None
        if names - {LOCK} and not names & {MANIFEST, PARTS, CHECKPOINTS, LOCK}:
            raise ConfigError(
                f"results folder '{self.folder}' exists and is not an econsim results folder; "
                "choose another --out"
            )

    # --- the manifest ------------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        """The folder's manifest, checked whole; None when there is none; StoreError when damaged."""
        raw = read_manifest_file(self.folder / MANIFEST)
        if raw is None:
            return None
        return validate_manifest(raw, f"'{self.folder / MANIFEST}'")

    def write_manifest(
        self,
        fields: dict[str, Any],
        status: str,
        wall_time_s: float,
        created: str | None = None,
    ) -> None:
        """Replace the manifest atomically: ``fields`` (model, fingerprint, seed, batches, ...) plus the
        status, versions and times."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest = {
            "format": FORMAT,
            **fields,
            "status": status,
            "econsim_version": __version__,
            "git_revision": git_revision(),
            "created": created or now,
            "updated": now,
            "wall_time_s": round(wall_time_s, 6),
        }
        tmp = self.folder / f".{MANIFEST}.{os.getpid()}.tmp"
        try:
            tmp.write_text(json.dumps(manifest, indent=2, default=_json_default))
            os.replace(tmp, self.folder / MANIFEST)
        except OSError as exc:
            raise StoreError(f"cannot write the manifest of '{self.folder}': {_reason(exc)}") from None

    # --- starting and resuming ---------------------------------------------------------------------
    def open(self, overwrite: bool = False) -> dict[str, Any] | None:
        """Lock the folder; return the earlier attempt's manifest, or None for a new (or overwritten)
        folder. A damaged manifest is a StoreError unless ``overwrite``."""
        self.lock()
        if overwrite:
            self._clear()
            return None
        try:
            return self.read_manifest()
        except StoreError as exc:
            raise StoreError(f"{exc}. Pass --overwrite to start the experiment again") from None

    def _clear(self) -> None:
        """Delete everything in the folder but its lock (which this process holds)."""
        try:
            for path in self.folder.iterdir():
                if path.name == LOCK:
                    continue
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        except OSError as exc:
            raise StoreError(f"cannot clear the results folder '{self.folder}': {_reason(exc)}") from None

    def resume(
        self,
        previous: dict[str, Any] | None,
        expected_fingerprint: str,
        batches: list[tuple[int, int]],
        describe: str,
    ) -> tuple[list[tuple[int, int]], set[int]]:
        """The batches to use (an earlier attempt's, when there is one) and those already finished.

        A folder of a different experiment is refused. Every part present is checked in full; a
        damaged or foreign one is deleted, named in a StoreWarning, and left to be recomputed."""
        if previous is not None:
            if previous["fingerprint"] != expected_fingerprint:
                raise ConfigError(
                    f"results folder '{self.folder}' holds a different experiment ({describe}); "
                    "choose another --out, or pass --overwrite to replace it"
                )
            batches = [(int(a), int(b)) for a, b in previous["batches"]]
        checkpoints = self.folder / CHECKPOINTS
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
            # temporary files of a writer that died (this process holds the lock: no other writes)
            for stray in [*self.parts.glob(".*"), *checkpoints.glob(".*")]:
                stray.unlink()
        except OSError as exc:
            raise StoreError(f"cannot write the results folder '{self.folder}': {_reason(exc)}") from None
        done: set[int] = set()
        damaged: list[str] = []
        for i, runs in enumerate(batches):
            path = self.part_path(i)
            if not path.exists():
                continue
            problem = check_part(path, i, runs, expected_fingerprint, full=True)
            if problem is None:
                done.add(i)
                checkpoint_path(path).unlink(missing_ok=True)  # left by a kill after the part's rename
                continue
            damaged.append(f"{path.name} {problem}")
            for stale in (path, seal_path(path), final_state_path(path)):
                stale.unlink(missing_ok=True)
        if damaged:
            warnings.warn(
                f"results folder '{self.folder}': recomputing {len(damaged)} part(s) that cannot be "
                "trusted: " + "; ".join(damaged),
                StoreWarning,
                stacklevel=3,
            )
        return batches, done

    def attach(self, plan: Plan, overwrite: bool = False) -> set[int]:
        """Lock the folder for ``plan``; adopt a matching earlier attempt's seed and batches.

        Returns the indices of batches already finished (and sound). A folder holding a different
        experiment is an error unless ``overwrite``, which deletes it."""
        previous = self.open(overwrite)
        if previous is not None and plan.config.seed is None:
            plan.seed = previous["seed"]  # the earlier attempt drew the seed: keep its streams
        describe = (
            f"model {previous.get('model')}, {previous.get('n_runs_total')} runs, seed {previous.get('seed')}"
            if previous
            else ""
        )
        plan.batches, done = self.resume(previous, fingerprint(plan), plan.batches, describe)
        self.write_manifest(
            plan_manifest(plan),
            status="running",
            wall_time_s=(previous or {}).get("wall_time_s", 0.0),
            created=(previous or {}).get("created"),
        )
        return done

    # --- reading -----------------------------------------------------------------------------------
    def problems(self, manifest: dict[str, Any], full: bool) -> list[str]:
        """What is wrong with the folder's parts: damaged or foreign ones, and missing ones when the
        manifest says the experiment is complete."""
        out = []
        complete = manifest.get("status") == "complete"
        for i, runs in enumerate(manifest["batches"]):
            path = self.part_path(i)
            if not path.exists():
                if complete:
                    out.append(f"{path.name} is missing (the manifest says the experiment is complete)")
                continue
            problem = check_part(path, i, tuple(runs), manifest["fingerprint"], full)
            if problem is not None:
                out.append(f"{path.name} {problem}")
        return out

    def part_paths(self, manifest: dict[str, Any] | None) -> list[Path]:
        """The parts present, in batch order (the manifest's batches, or every part file if it has none)."""
        if manifest is not None and isinstance(manifest.get("batches"), list):
            paths = [self.part_path(i) for i in range(len(manifest["batches"]))]
            return [p for p in paths if p.is_file()]
        return sorted(self.parts.glob("batch-*.parquet"))
