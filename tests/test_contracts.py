"""Contract specs and the scenario grid."""

from __future__ import annotations

import pytest

from execbench.contracts import ContractSpec, scenario_grid
from execbench.errors import ContractError


@pytest.mark.parametrize("horizon", [1, 4, 12])
def test_full_grid_size_and_lem_ordering(horizon):
    grid = scenario_grid(horizon)
    assert len(grid) == 8 * (horizon + 1)
    # s = n*8 + k*2 + a with k in (buy-vwap, buy-twap, sell-vwap, sell-twap), a in (quantity, notional)
    spec = grid.specs[1 * 8 + 3 * 2 + 1] if horizon > 1 else grid.specs[3 * 2 + 1]
    assert (spec.side, spec.benchmark, spec.target) == ("sell", "twap", "notional")
    assert spec.min_period == min(2, horizon) or horizon == 1
    last = grid.specs[-1]
    assert last.match and last.min_period == horizon and last.label == "sell-twap-notional-match"
    assert grid.index("buy-vwap-quantity-m1") == 0


def test_defaults_follow_the_paper():
    spec = ContractSpec("buy", "quantity", "vwap", horizon=12, min_period=3)
    assert spec.effective_min_rate == pytest.approx(1 / 144) and spec.max_rate == 1.0
    assert spec.max_participation is None and spec.label == "buy-vwap-quantity-m3"


@pytest.mark.parametrize("kwargs, message", [
    ({"side": "long"}, "parameter 'side'"),
    ({"target": "shares"}, "parameter 'target'"),
    ({"benchmark": "arrival"}, "parameter 'benchmark'"),
    ({"horizon": 0}, "parameter 'horizon'"),
    ({"min_period": 13}, r"parameter 'min_period': expected an integer m in 1..T=12"),
    ({"min_period": 5, "match": True}, "parameter 'match'"),
    ({"min_rate": 0.5}, "parameter 'min_rate'"),
    ({"max_rate": 0.01}, "parameter 'max_rate'"),
    ({"max_participation": 0.0}, "parameter 'max_participation'"),
])
def test_bad_contracts_name_the_parameter(kwargs, message):
    base = {"side": "buy", "target": "quantity", "benchmark": "vwap", "horizon": 12, "min_period": 12}
    with pytest.raises(ContractError, match=message):
        ContractSpec(**{**base, **kwargs})


def test_specs_are_frozen_and_grids_reject_mixed_horizons():
    spec = ContractSpec("buy", "quantity", "vwap", horizon=4, min_period=2)
    with pytest.raises(AttributeError):
        spec.side = "sell"
    from execbench.contracts import ScenarioGrid

    with pytest.raises(ContractError, match="one horizon"):
        ScenarioGrid((spec, ContractSpec("buy", "quantity", "vwap", horizon=5, min_period=2)))
    with pytest.raises(ContractError, match="not in the grid"):
        scenario_grid(4).index("buy-vwap-quantity-m9")
    # labels, positions and the kernels' arrays are built once per grid: nobody can change them through a copy
    grid = scenario_grid(4)
    assert [grid.index(label) for label in grid.labels] == list(range(len(grid)))
    grid.labels.append("x")
    assert len(grid.labels) == len(grid)
    arrays = grid.arrays()
    arrays.pop("min_rate")
    assert "min_rate" in grid.arrays()
    with pytest.raises(ValueError, match="read-only"):
        grid.arrays()["min_period"][0] = 3
