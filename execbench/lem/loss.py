"""The LEM training loss (paper §2.4, eq. 28–46) in keras ops, and a NumPy twin.

Inputs are allocations shaped like the LEM's output, (B, T, T+1, 4, 2) — step × minimum-period
slot (T flexible cases, then match) × (buy-VWAP, buy-TWAP, sell-VWAP, sell-TWAP) × (volume,
notional) — which is ``execbench.scenario_grid(T)``'s order, so ``alloc.reshape(B, T, T+1, 4, 2)``
of an engine allocation array is the same thing — and the window's bar prices and volumes (B, T).

Prices are divided by each window's first price (slippage is scale-free), so the small ``EPS`` guards
in the denominators stay negligible whatever the price level (upstream adds 1e-7 to Σ aₜ/Pₜ, a bias
that grows with the price).  Departures from the text, to match what the engine scores:

* the soft completion mask is 2σ(α·C) − 1 (0 when nothing remains from bar t on, → 1 when C ≫ 1/α),
  not σ(α·C), which gives bars after completion half weight in the benchmark (σ(0) = ½; upstream
  ``lems`` does this);
* where no volume has traded yet, the window is extended to the first bar with volume (upstream's
  reading of eq. 29); the engine instead reports such a VWAP benchmark as undefined;
* the loss is +(PnL + Risk)/count, a cost to minimise: eq. 46's leading minus would *maximise*
  softplus(D_buy − D_sell), i.e. reward buying dear and selling cheap.  Upstream ``lems`` also
  minimises the positive form.

Stop blocks (``decision="stop"``, see ``execbench.lem.model``) train on the randomised stopping policy:
the model's training output adds, per bar k, the probability p_k of finishing the remainder there
(given the path has not finished before).  Stopping at bar k trades the continuation allocations
before k and the remainder at k; it has probability w_k = p_k·Π_{j<k}(1 − p_j) (p_{T−1} = 1), and
its slippage D_k is ``lem_slippage`` of that allocation.  The PnL term is softplus(E[D_buy] −
E[D_sell]), the risk term E[softplus(|D_match|)]; with every p ∈ {0, 1} that is ``lem_loss`` of the
hard allocation (tested).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-9


def _masks_numpy(horizon: int) -> np.ndarray:
    """M (T, T+1): bar t (0-based) is forced into the window of minimum-period slot n if t ≤ n; the
    match slot (n = T) forces every bar."""
    t = np.arange(horizon)[:, None]
    n = np.arange(horizon + 1)[None, :]
    return ((t <= n) | (n == horizon)).astype(np.float64)


def lem_slippage_numpy(alloc: np.ndarray, prices: np.ndarray, volumes: np.ndarray, alpha: float = 50.0) -> np.ndarray:
    """D = (achieved / benchmark − 1)·100 per (B, T+1, 4, 2), the twin of ``lem_slippage``."""
    batch, horizon = prices.shape
    prices = prices / prices[:, :1]  # slippage is scale-free; ~1 prices keep EPS negligible
    forced = _masks_numpy(horizon)[None, :, :, None, None]
    traded_before = np.concatenate([np.ones((batch, 1)), (np.cumsum(volumes, axis=1)[:, :-1] > 0)], axis=1)
    volume_mask = (1.0 - traded_before)[:, :, None, None, None]  # extend the benchmark until volume trades
    needed = forced + (1.0 - forced) * volume_mask
    remaining = np.flip(np.cumsum(np.flip(alloc, axis=1), axis=1), axis=1)
    soft = 2.0 / (1.0 + np.exp(-alpha * remaining)) - 1.0
    mask = needed + (1.0 - needed) * soft
    p = prices[:, :, None, None]
    executed = alloc * mask
    vol_units, notional = executed[..., 0], executed[..., 1]
    achieved_volume = (vol_units * p).sum(axis=1) / (vol_units.sum(axis=1) + EPS)
    achieved_notional = notional.sum(axis=1) / ((notional / p).sum(axis=1) + EPS)
    achieved = np.stack([achieved_volume, achieved_notional], axis=-1)
    weights = np.stack([volumes, np.ones_like(volumes)] * 2, axis=-1)[:, :, None, :, None]  # VWAP, TWAP, VWAP, TWAP
    market = weights * mask  # mask ≥ needed, so this is eq. 39's max(M_eff, M_vol)
    benchmark = ((market * prices[:, :, None, None, None]).sum(axis=1) + EPS) / (market.sum(axis=1) + EPS)
    return (achieved / benchmark - 1.0) * 100.0


def _softplus(x):
    return np.logaddexp(0.0, x)


def _stop_masks(horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(K, T) masks over stop bar k × bar t: t < k (continuation allocations) and t == k (the remainder)."""
    k, t = np.arange(horizon)[:, None], np.arange(horizon)[None, :]
    return (t < k).astype(np.float64), (t == k).astype(np.float64)


def stop_paths_numpy(pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training output (B, T, N, 4, 2, 2) → the allocation of every stopping bar k (B, K=T, T, N, 4, 2)
    and its probability w_k (B, K, N, 4, 2): what ``expected_stop_slippage`` sums in closed form."""
    cont, p = pred[..., 0], pred[..., 1]
    horizon = cont.shape[1]
    before, at = _stop_masks(horizon)
    remaining = 1.0 - (np.cumsum(cont, axis=1) - cont)  # before bar k
    shape = (1, horizon, horizon, 1, 1, 1)
    paths = cont[:, None] * before.reshape(shape) + remaining[:, :, None] * at.reshape(shape)
    survive = np.concatenate([np.ones_like(p[:, :1]), np.cumprod(1.0 - p, axis=1)[:, :-1]], axis=1)
    return paths, p * survive


def expected_stop_loss_numpy(pred: np.ndarray, prices: np.ndarray, volumes: np.ndarray, alpha: float = 50.0,
                             risk_weight: float = 1.0) -> float:
    """Twin of ``expected_stop_loss``."""
    paths, weights = stop_paths_numpy(pred)
    batch, horizon = prices.shape
    d = lem_slippage_numpy(paths.reshape(batch * horizon, *paths.shape[2:]), np.repeat(prices, horizon, axis=0),
                           np.repeat(volumes, horizon, axis=0), alpha).reshape(weights.shape)
    mean = (weights * d).sum(axis=1)
    pnl = _softplus(mean[:, :-1, 0:2, :] - mean[:, :-1, 2:4, :])
    risk = (weights[:, :, -1] * _softplus(np.abs(d[:, :, -1]))).sum(axis=1)
    return float((pnl.sum() + risk_weight * risk.sum()) / (pnl.size + risk.size))


def lem_loss_numpy(alloc: np.ndarray, prices: np.ndarray, volumes: np.ndarray, alpha: float = 50.0,
                   risk_weight: float = 1.0) -> float:
    """Twin of ``lem_loss``."""
    d = lem_slippage_numpy(alloc, prices, volumes, alpha)
    pnl = _softplus(d[:, :-1, 0:2, :] - d[:, :-1, 2:4, :])
    risk = _softplus(np.abs(d[:, -1]))
    return float((pnl.sum() + risk_weight * risk.sum()) / (pnl.size + risk.size))


def _market(prices, volumes, dtype):
    """Prices over each window's first price and volumes, in ``dtype``, and the bars every benchmark
    keeps (B, T, T+1, 1, 1): the forced ones of each minimum-period slot and those before any volume."""
    from keras import ops

    horizon = prices.shape[1]
    prices = ops.cast(prices, dtype)  # TensorFlow does not promote float64 data to float32 allocations
    volumes = ops.cast(volumes, dtype)
    prices = prices / prices[:, :1]
    forced = ops.convert_to_tensor(_masks_numpy(horizon), dtype=dtype)[None, :, :, None, None]
    cumulative = ops.cumsum(volumes, axis=1)
    traded_before = ops.concatenate([ops.ones_like(volumes[:, :1]), ops.cast(cumulative[:, :-1] > 0, dtype)], axis=1)
    return prices, volumes, forced + (1.0 - forced) * (1.0 - traded_before)[:, :, None, None, None]


def lem_slippage(alloc, prices, volumes, alpha: float = 50.0):
    """D = (achieved / benchmark − 1)·100 per (B, T+1, 4, 2) with soft completion masks (keras ops,
    differentiable in ``alloc``)."""
    from keras import ops

    prices, volumes, needed = _market(prices, volumes, alloc.dtype)
    remaining = ops.flip(ops.cumsum(ops.flip(alloc, axis=1), axis=1), axis=1)
    soft = 2.0 * ops.sigmoid(alpha * remaining) - 1.0
    mask = needed + (1.0 - needed) * soft
    p = prices[:, :, None, None]
    executed = alloc * mask
    vol_units, notional = executed[..., 0], executed[..., 1]
    achieved_volume = ops.sum(vol_units * p, axis=1) / (ops.sum(vol_units, axis=1) + EPS)
    achieved_notional = ops.sum(notional, axis=1) / (ops.sum(notional / p, axis=1) + EPS)
    achieved = ops.stack([achieved_volume, achieved_notional], axis=-1)
    weights = ops.stack([volumes, ops.ones_like(volumes)] * 2, axis=-1)[:, :, None, :, None]
    market = weights * mask
    benchmark = (ops.sum(market * prices[:, :, None, None, None], axis=1) + EPS) / (ops.sum(market, axis=1) + EPS)
    return (achieved / benchmark - 1.0) * 100.0


def lem_loss(alloc, prices, volumes, alpha: float = 50.0, risk_weight: float = 1.0):
    """Mean of softplus(D_buy − D_sell) over the flexible cases and softplus(|D|) over the match case
    (a cost to minimise; see the module docstring); ``risk_weight`` scales the match-case terms (1 in
    the paper)."""
    from keras import ops

    d = lem_slippage(alloc, prices, volumes, alpha)
    pnl = ops.softplus(d[:, :-1, 0:2, :] - d[:, :-1, 2:4, :])
    risk = ops.softplus(ops.abs(d[:, -1]))
    count = float(np.prod(pnl.shape[1:]) + np.prod(risk.shape[1:])) * d.shape[0]
    return (ops.sum(pnl) + risk_weight * ops.sum(risk)) / count


def expected_stop_slippage(pred, prices, volumes, alpha: float = 50.0):
    """D_k of every stopping bar (B, K, T+1, 4, 2) and its probability w_k, from a stop model's
    training output (B, T, T+1, 4, 2, 2).

    Equal to ``lem_slippage`` of each stopping bar's allocation (``stop_paths_numpy``; the NumPy twin
    does exactly that), in O(T) cumulative sums instead of T passes: for t ≤ k the unexecuted share from
    bar t on is the continuation path's, so its soft completion mask is too, and after k only the
    forced bars (and those before any volume) stay in the benchmark."""
    from keras import ops

    cont, p = pred[..., 0], pred[..., 1]
    prices, volumes, needed = _market(prices, volumes, cont.dtype)
    remaining = 1.0 - (ops.cumsum(cont, axis=1) - cont)  # R_t: unexecuted before bar t = stopping there
    mask = needed + (1.0 - needed) * (2.0 * ops.sigmoid(alpha * remaining) - 1.0)
    price = prices[:, :, None, None, None]

    def before(x):  # Σ_{t<k} x_t
        return ops.cumsum(x, axis=1) - x

    executed = cont * mask
    last = remaining * mask  # what stopping at k trades on bar k, mask-weighted
    bought = before(executed * price) + last * price  # volume paths: Σ a·m·p
    units = before(executed) + last  # Σ a·m
    spent = before(executed / price) + last / price  # notional paths: Σ a·m/p
    achieved = ops.stack([bought[..., 0] / (units[..., 0] + EPS), units[..., 1] / (spent[..., 1] + EPS)], axis=-1)
    weights = ops.stack([volumes, ops.ones_like(volumes)] * 2, axis=-1)[:, :, None, :, None]
    inside, outside = weights * mask, weights * needed  # up to k; after k

    def split_sum(first, then):  # Σ_{t≤k} first_t + Σ_{t>k} then_t
        return ops.cumsum(first, axis=1) + ops.sum(then, axis=1, keepdims=True) - ops.cumsum(then, axis=1)

    benchmark = (split_sum(inside * price, outside * price) + EPS) / (split_sum(inside, outside) + EPS)
    survive = ops.concatenate([ops.ones_like(p[:, :1]), ops.cumprod(1.0 - p, axis=1)[:, :-1]], axis=1)
    return (achieved / benchmark - 1.0) * 100.0, p * survive


def expected_stop_loss(pred, prices, volumes, alpha: float = 50.0, risk_weight: float = 1.0):
    """The LEM loss of the randomised stopping policy (see the module docstring)."""
    from keras import ops

    d, weights = expected_stop_slippage(pred, prices, volumes, alpha)
    mean = ops.sum(weights * d, axis=1)
    pnl = ops.softplus(mean[:, :-1, 0:2, :] - mean[:, :-1, 2:4, :])
    risk = ops.sum(weights[:, :, -1] * ops.softplus(ops.abs(d[:, :, -1])), axis=1)
    count = float(np.prod(pnl.shape[1:]) + np.prod(risk.shape[1:])) * ops.shape(d)[0]
    return (ops.sum(pnl) + risk_weight * ops.sum(risk)) / count


def training_loss(pred, prices, volumes, risk_weight: float = 1.0):
    """``lem_loss`` of allocations, or ``expected_stop_loss`` of a stop model's training output."""
    loss = expected_stop_loss if len(pred.shape) == 6 else lem_loss
    return loss(pred, prices, volumes, risk_weight=risk_weight)


def _slippage_and_risk(pred, prices, volumes):
    """(D of the flexible slots, |D| of the match slot), expected over stops for a training output."""
    from keras import ops

    if len(pred.shape) == 6:
        d, weights = expected_stop_slippage(pred, prices, volumes)
        return ops.sum(weights[:, :, :-1] * d[:, :, :-1], axis=1), ops.sum(weights[:, :, -1] * ops.abs(d[:, :, -1]), axis=1)
    d = lem_slippage(pred, prices, volumes)
    return d[:, :-1], ops.abs(d[:, -1])


def _side_adjusted_bps(d):
    """Per-scenario improvement in bps, positive = better: −D for buys, +D for sells (D in percent)."""
    from keras import ops

    return ops.concatenate([-d[..., 0:2, :], d[..., 2:4, :]], axis=-2) * 100.0


def improvement_bps(y_true, y_pred):
    """The paper's improvement metric as a keras metric: mean side-adjusted slippage (bps, positive =
    better than the benchmark) over the flexible minimum periods.  ``y_true`` is (…, 0) prices and
    (…, 1) volumes, as the loss takes them."""
    from keras import ops

    flexible, _ = _slippage_and_risk(y_pred, y_true[..., 0], y_true[..., 1])
    return ops.mean(_side_adjusted_bps(flexible))


def risk_bps(y_true, y_pred):
    """The paper's risk metric as a keras metric: mean |slippage| (bps) of the match case."""
    from keras import ops

    _, risk = _slippage_and_risk(y_pred, y_true[..., 0], y_true[..., 1])
    return ops.mean(risk) * 100.0
