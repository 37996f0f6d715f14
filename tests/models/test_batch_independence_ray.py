"""The Ray executor gives every built-in model's sweep bit for bit what the in-process executor gives
(the sweeps of ``test_batch_independence``: a per-batch and a per-run parameter, several batches)."""

from __future__ import annotations

import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="the Ray executor needs the 'ray' extra (pip install 'econsim[ray]')")

from test_batch_independence import CASES, reference, sweep_config  # noqa: E402

import econsim  # noqa: E402

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_gives_identical_results_for_every_model(local_ray, tmp_path):
    for model_name in CASES:
        res = econsim.run(
            sweep_config(model_name, executor="ray", memory_budget_mb=0.02, out=str(tmp_path / model_name))
        )
        assert len(list((tmp_path / model_name / "parts").glob("*.parquet"))) > 1
        pd.testing.assert_frame_equal(res.to_pandas(), reference(model_name), check_exact=True)
