"""The step loop: block semantics, recording schedule, strict finite checks, parameter validation."""

import numpy as np
import pytest

from econsim.engine import Block, ConfigError, Model, NonFiniteStateError, Param, Simulation, Var
from econsim.engine.stepping import record_steps


def _counter_model(step):
    return Model(
        name="t",
        doc="test",
        params=[Param("k", 1.0, "gain")],
        state=[Var("a", 1.0, "a"), Var("b", 10.0, "b")],
        step=step,
    )


def _run(model, steps=3, **kw):
    return Simulation(model, runs=2, **kw).run(steps)


def add_b_to_a(s, p, rng):
    return {"a": s.a + s.b}


def double_b(s, p, rng):
    return {"b": 2 * s.b}


def test_stages_in_a_block_see_the_same_state():
    _, rec = _run(_counter_model([Block(add_b_to_a, double_b)]), steps=1)
    assert rec["a"][1, 0] == 11 and rec["b"][1, 0] == 20


def test_separate_stages_see_earlier_updates():
    _, rec = _run(_counter_model([double_b, add_b_to_a]), steps=1)
    assert rec["a"][1, 0] == 21 and rec["b"][1, 0] == 20


def test_records_include_start_every_kth_and_last_step():
    np.testing.assert_array_equal(record_steps(10, 4), [0, 4, 8, 10])
    np.testing.assert_array_equal(record_steps(8, 4), [0, 4, 8])
    times, rec = _run(_counter_model([double_b]), steps=5, record_every=2)
    np.testing.assert_array_equal(times, [0, 2, 4, 5])
    np.testing.assert_array_equal(rec["b"][:, 0], [10, 40, 160, 320])


def test_strict_mode_names_variable_and_step():
    def blow_up(s, p, rng):
        return {"a": np.where(s.b > 30, np.inf, s.a)}

    model = _counter_model([double_b, blow_up])
    with pytest.raises(NonFiniteStateError, match=r"'a' became inf at step 2 \(subset 0, run 0\)"):
        _run(model, steps=4)
    _, rec = _run(model, steps=4, strict=False)
    assert np.isinf(rec["a"][-1]).all()


def test_param_validation_names_value_and_valid_range():
    p = Param("rate", 0.1, "a rate", bounds=(0.0, 1.0))
    assert p.validate(0.5) == 0.5
    with pytest.raises(ConfigError, match=r"rate = 1.5 is out of range; valid: \[0.0, 1.0\]"):
        p.validate(1.5)
    with pytest.raises(ConfigError, match="must be a number"):
        p.validate("fast")
    with pytest.raises(ConfigError, match="must be a number"):
        p.validate(True)
    c = Param("mode", "a", "mode", kind="choice", choices=("a", "b"))
    with pytest.raises(ConfigError, match="choose one of: a, b"):
        c.validate("c")
    i = Param("n", 3, "count", kind="int", bounds=(1, None))
    with pytest.raises(ConfigError, match="whole number"):
        i.validate(2.5)


def test_negative_steps_rejected():
    with pytest.raises(ConfigError, match="steps = -1"):
        _run(_counter_model([double_b]), steps=-1)


def test_a_parameter_declared_twice_is_refused_naming_it():
    # two modules declaring one name would silently share one value (the later default)
    with pytest.raises(ValueError, match=r"parameters declared twice: k$"):
        Model(
            name="t",
            doc="test",
            params=[Param("k", 1.0, "gain"), Param("j", 0.0, "other"), Param("k", 2.0, "another gain")],
            state=[Var("a", 1.0, "a")],
            step=[add_b_to_a],
        )
