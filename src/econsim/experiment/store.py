"""The results folder: a manifest and one Parquet part per finished batch.

    <out>/manifest.json        resolved configuration, seed, batches, versions, status, wall time
    <out>/parts/batch-000012.parquet

A part is renamed into place only when complete, so after a crash or Ctrl-C the parts present are
exactly the finished batches: running the same command again computes only the missing ones.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from econsim import __version__
from econsim.engine.errors import ConfigError
from econsim.experiment.plan import Plan

MANIFEST = "manifest.json"
PARTS = "parts"


def fingerprint(plan: Plan) -> str:
    """Hash of everything that determines the results, the resolved seed included."""
    spec = {**plan.config.results_fingerprint(), "seed": plan.seed}
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


class ResultStore:
    """Reads and writes one results folder."""

    def __init__(self, out: str | Path) -> None:
        self.folder = Path(out)
        self.parts = self.folder / PARTS

    def part_path(self, index: int) -> Path:
        return self.parts / f"batch-{index:06d}.parquet"

    def read_manifest(self) -> dict[str, Any] | None:
        path = self.folder / MANIFEST
        if not path.is_file():
            return None
        return json.loads(path.read_text())

    def finished(self) -> set[int]:
        if not self.parts.is_dir():
            return set()
        return {int(p.stem.split("-")[1]) for p in self.parts.glob("batch-*.parquet")}

    def attach(self, plan: Plan, overwrite: bool = False) -> set[int]:
        """Prepare the folder for ``plan``; adopt a matching earlier attempt's seed and batches.

        Returns the indices of batches already finished. A folder holding a different experiment is an
        error unless ``overwrite``, which deletes it.
        """
        previous = self.read_manifest()
        if previous is not None and overwrite:
            shutil.rmtree(self.folder)
            previous = None
        if previous is not None:
            if plan.config.seed is None:
                plan.seed = previous["seed"]  # the earlier attempt drew the seed: keep its streams
            if previous.get("fingerprint") != fingerprint(plan):
                raise ConfigError(
                    f"results folder '{self.folder}' holds a different experiment "
                    f"(model {previous.get('model')}, {previous.get('n_runs_total')} runs); "
                    "choose another --out, or pass --overwrite to replace it"
                )
            plan.batches = [tuple(b) for b in previous["batches"]]
        elif self.folder.exists() and any(self.folder.iterdir()):
            raise ConfigError(
                f"results folder '{self.folder}' exists and is not an econsim results folder; "
                "choose another --out"
            )
        self.parts.mkdir(parents=True, exist_ok=True)
        done = self.finished()
        self.write_manifest(
            plan,
            status="running",
            wall_time_s=(previous or {}).get("wall_time_s", 0.0),
            created=(previous or {}).get("created"),
        )
        return done

    def write_manifest(self, plan: Plan, status: str, wall_time_s: float, created: str | None = None) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest = {
            "format": 1,
            "model": plan.model_name,
            "name": plan.config.name,
            "status": status,
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
            "econsim_version": __version__,
            "git_revision": git_revision(),
            "created": created or now,
            "updated": now,
            "wall_time_s": round(wall_time_s, 6),
        }
        tmp = self.folder / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, default=_json_default))
        os.replace(tmp, self.folder / MANIFEST)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to the manifest")
