"""The Large Execution Model in keras 3 ops (runs on JAX, TensorFlow or PyTorch), built causally.

Architecture (paper §2): per-feature embedding → variable selection network of GRNs → a stack of
TKAN layers → gate + add&norm → GRN → multi-head self-attention with a causal mask → one fused-MLP
decision block per execution step.  Decision block s (for execution bar origin+s, s < T−1) reads
only sequence position L−1+s — the last bar before origin+s (see ``features.py``) — plus the
contract's trading rates, the order's own earlier allocations and the realised price curves so far
(eq. 24's "real-time price and volume information"): the return since arrival, the last price
against the market VWAP and TWAP of bars origin..origin+s−1, and each path's own average execution
price against both, all rebuilt from the visible return and volume features.  T+1 minimum-period
models × 8 fused paths (buy/sell × VWAP/TWAP × volume/notional), each scaling a learnable base curve.
Allocations are then soft-clipped to [min rate, max rate], pushed up to what completion by bar T
requires, clipped to the remaining budget, and the last bar takes the remainder, so every path sums
to exactly 1 (eq. 25–27).

``decision="stop"`` (execbench's default; ``"rate"`` is the paper's block) adds what a flexible
window needs and the paper's block cannot express: a rate block allocates at most twice its base
curve per bar, so it cannot *finish now* when the running benchmark turns favourable, which is where
the option's value lies (``execbench.strategy.stopping``).  Each decision block gets a second output,
a stop probability p (finish the path's remainder on this bar), and sees the price curves in units of
the order's causal volatility (the RMS of the lookback returns) and that volatility's log.  Inference
stops when p > ½.  Training optimises the expected loss of the randomised stopping policy (deep
optimal stopping, Becker, Cheridito & Jentzen 2019): in training mode the model returns, per bar, the
continuation allocation and p (``execbench.lem.loss.expected_stop_loss``).

Output: (batch, T, T+1, 4, 2), the order of ``execbench.scenario_grid(T)``; in training mode with
``decision="stop"``, (batch, T, T+1, 4, 2, 2): continuation allocations and stop probabilities.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np

from execbench.lem.backend import keras_backend

# keras on JAX unless KERAS_BACKEND says otherwise, with JAX's persistent compilation cache: a model
# built or called in this process reuses the programs compiled by earlier ones (its weight initialisers'
# random draws took 0.6 s each to compile here)
keras = keras_backend()
from keras import layers, ops  # noqa: E402
from tkan import TKAN  # noqa: E402

from execbench.lem.features import RETURN_SCALE  # noqa: E402  (the features' returns are in percent)
from execbench.lem.presets import DECISIONS  # noqa: E402

SHARED_CURVES = 3  # return since arrival; last price vs market VWAP and vs TWAP so far
PATH_CURVES = 3  # the path's executed share; its average price vs market VWAP and vs TWAP so far
SIGMA_FLOOR = 1e-3  # percent per bar: the floor of the causal volatility the stop blocks scale by
STOP_BIAS = -3.0  # initial stop logit: p ≈ 5 %, so an untrained model rarely stops


_PLACEHOLDERS = threading.RLock()  # the patches are process-wide: one build at a time uses them


def _placeholder_patches(zeros) -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for every keras initializer ``placeholder_initializers`` replaces, as
    far as this keras has them (each group looked up on its own: a moved one leaves the others working)."""
    patches: list[tuple[Any, str, Any]] = []
    try:
        from keras.src.backend import random as backend_random

        patches += [(backend_random, n, zeros) for n in ("uniform", "normal", "truncated_normal")
                    if hasattr(backend_random, n)]
    except ImportError:  # pragma: no cover - another keras layout
        pass
    try:
        from keras.src.initializers.constant_initializers import Constant, Ones, Zeros
        from keras.src.initializers.random_initializers import Orthogonal

        patches += [(cls, "__call__", lambda self, shape, dtype=None: zeros(shape, dtype=dtype))
                    for cls in (Orthogonal, Zeros, Ones, Constant)]
    except ImportError:  # pragma: no cover - another keras layout
        pass
    return patches


@contextlib.contextmanager
def placeholder_initializers():
    """Make keras' initializers return zeros while a model is built whose weights are
    overwritten straight after (a checkpoint or saved state).  On JAX every random initializer
    compiles its own program — about 20 s of a cold start for ~170 weights — for values that are
    thrown away; the orthogonal one (TKAN's recurrent kernels) also runs a QR decomposition of its
    draw (0.9 s of a checkpoint load with an empty JAX cache), and the zeros, ones and constant ones
    build JAX arrays shape by shape (about 0.4 s).  The zeros are placed on the device as they are, so
    that keras does not compile a copy of them per shape.  The patches are process-wide, so builds under them
    are serialised.  keras is pinned; if its internals move, the missing patches do nothing."""

    on_jax = keras.backend.backend() == "jax"
    if on_jax:
        import jax

    def zeros(shape, *args, dtype=None, **kwargs):
        values = np.zeros(shape, dtype or keras.config.floatx())
        # on JAX, a device array: keras makes a NumPy one into a JAX array with ``jnp.array``, which compiles a
        # copy program per shape (32 of them: 0.48 s of a warm checkpoint load, against 0.12 s)
        return jax.device_put(values) if on_jax else values

    with _PLACEHOLDERS:
        patches = _placeholder_patches(zeros)
        saved = [(owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name))
                 for owner, name, _ in patches]
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        try:
            yield
        finally:
            for owner, name, original in saved:
                setattr(owner, name, original)


def build_weights(model, sequence: int, n_features: int, batch: int | None = None) -> None:
    """Create every weight from the input shapes (``LargeExecutionModel.build``: nothing traced or compiled;
    the same weights, paths and random draws as a first call would create)."""
    model.build([(batch, sequence, n_features), (batch, 2)])


def soft_clip(x, upper, sharpness: float = 10.0):
    """Eq. 25: ≈ x below ``upper``, → ``upper`` above it, smoothly."""
    ratio = ops.sigmoid(sharpness * (upper - x))
    return x * ratio + upper * (1.0 - ratio)


class GRN(layers.Layer):
    """Gated residual network: LayerNorm(skip(x) + GLU(W2·ELU(W1·x)))."""

    def __init__(self, units: int, output_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.output_size = output_size or units
        self.skip = layers.Dense(self.output_size)
        self.hidden_1 = layers.Dense(units, activation="elu")
        self.hidden_2 = layers.Dense(units)
        self.value = layers.Dense(self.output_size)
        self.gate = layers.Dense(self.output_size, activation="sigmoid")
        self.norm = layers.LayerNormalization()

    def build(self, input_shape):
        """Every sublayer's weights from the input's shape, in the order ``call`` first uses them (so
        random initial weights are drawn as a traced call would draw them)."""
        inner = (*input_shape[:-1], self.units)
        self.hidden_1.build(input_shape)
        self.hidden_2.build(inner)
        self.skip.build(input_shape)
        self.value.build(inner)
        self.gate.build(inner)
        self.norm.build((*input_shape[:-1], self.output_size))

    def call(self, x):
        hidden = self.hidden_2(self.hidden_1(x))
        return self.norm(self.skip(x) + self.value(hidden) * self.gate(hidden))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "output_size": self.output_size}


class LargeExecutionModel(keras.Model):
    """The LEM.  Inputs: ``features`` (B, L+T−1, F) from ``lem_features`` and ``rates`` (B, 2) =
    (minimum, maximum) trading rate per bar."""

    def __init__(self, lookback: int, horizon: int, n_features: int, hidden: int = 32, embedding: int = 8,
                 rnn_layers: int = 1, heads: int = 2, mlp_hidden: int = 32, decision: str = "rate", **kwargs):
        super().__init__(**kwargs)
        if decision not in DECISIONS:
            raise ValueError(f"LargeExecutionModel: decision={decision!r}, expected one of {DECISIONS}")
        self.decision = decision
        self.lookback, self.horizon, self.n_features = lookback, horizon, n_features
        self.hidden, self.embedding_size, self.rnn_layers = hidden, embedding, rnn_layers
        self.heads, self.mlp_hidden = heads, mlp_hidden
        self.embed = [layers.Dense(embedding) for _ in range(n_features)]
        self.selection = GRN(hidden, output_size=n_features)
        self.feature_grns = [GRN(hidden) for _ in range(n_features)]
        self.rnn = [TKAN(hidden, return_sequences=True) for _ in range(rnn_layers)]
        self.rnn_value = layers.Dense(hidden)
        self.rnn_gate = layers.Dense(hidden, activation="sigmoid")
        self.rnn_norm = layers.LayerNormalization()
        self.enrich = GRN(hidden)
        self.attention = layers.MultiHeadAttention(num_heads=heads, key_dim=max(1, hidden // heads))
        self.n_periods = horizon + 1
        self.n_paths = 8

    def build(self, input_shape):
        shared = self.hidden + self.n_features + 2 + SHARED_CURVES + PATH_CURVES  # context, features, rates, curves
        shared += self.decision == "stop"  # log volatility
        self.kernels_1, self.biases_1, self.kernels_2, self.biases_2 = [], [], [], []
        for step in range(self.horizon - 1):
            width = shared + step  # + the path's own earlier allocations
            self.kernels_1.append(self.add_weight(shape=(self.n_periods, self.n_paths, width, self.mlp_hidden),
                                                  initializer="glorot_uniform", name=f"step{step}_kernel_1"))
            self.biases_1.append(self.add_weight(shape=(self.n_periods, self.n_paths, self.mlp_hidden),
                                                 initializer="zeros", name=f"step{step}_bias_1"))
            self.kernels_2.append(self.add_weight(shape=(self.n_periods, self.n_paths, self.mlp_hidden, 1),
                                                  initializer="lecun_normal", name=f"step{step}_kernel_2"))
            self.biases_2.append(self.add_weight(shape=(self.n_periods, self.n_paths, 1), initializer="zeros",
                                                 name=f"step{step}_bias_2"))
        self.stop_kernels, self.stop_biases = [], []
        for step in range(self.horizon - 1 if self.decision == "stop" else 0):
            self.stop_kernels.append(self.add_weight(shape=(self.n_periods, self.n_paths, self.mlp_hidden, 1),
                                                     initializer="lecun_normal", name=f"step{step}_stop_kernel"))
            self.stop_biases.append(self.add_weight(shape=(self.n_periods, self.n_paths, 1),
                                                    initializer=keras.initializers.Constant(STOP_BIAS),
                                                    name=f"step{step}_stop_bias"))
        # learnable base curves, positive and summing to one over the steps (via a softmax)
        self.base_logits = self.add_weight(shape=(self.horizon, self.n_periods, self.n_paths), initializer="zeros",
                                           name="base_curve_logits")
        self._build_layers(input_shape[0])
        super().build(input_shape)

    def _build_layers(self, features_shape) -> None:
        """The sublayers' weights for features of ``features_shape`` (B, N, F), in the order ``call`` first
        uses them, as a traced call would build them (the same weights, paths and random draws)."""
        positions = (*features_shape[:-1], self.hidden)
        for embed in self.embed:
            embed.build((*features_shape[:-1], 1))
        self.selection.build((*features_shape[:-1], self.n_features * self.embedding_size))
        for grn in self.feature_grns:
            grn.build((*features_shape[:-1], self.embedding_size))
        for rnn in self.rnn:
            rnn.build(positions)
        for layer in (self.rnn_value, self.rnn_gate, self.rnn_norm, self.enrich):
            layer.build(positions)
        self.attention.build(positions, positions)

    def select(self, features):
        """Per position (B, N, F) → (B, N, H): embeddings → variable selection network of GRNs."""
        embedded = [embed(features[:, :, i:i + 1]) for i, embed in enumerate(self.embed)]
        weights = ops.softmax(self.selection(ops.concatenate(embedded, axis=-1)), axis=-1)  # (B, N, F)
        transformed = ops.stack([grn(e) for grn, e in zip(self.feature_grns, embedded, strict=True)], axis=-1)
        return ops.sum(transformed * weights[:, :, None, :], axis=-1)

    def enrich_positions(self, hidden, selected):
        """Per position: the recurrent output gated, added to the selected inputs, normalised, then a GRN."""
        gated = self.rnn_value(hidden) * self.rnn_gate(hidden)
        return self.enrich(self.rnn_norm(gated + selected))

    def context(self, features):
        """(B, N, H) causal context: embeddings → VSN → TKAN → gate/add&norm → GRN → causal attention."""
        selected = self.select(features)
        hidden = selected
        for rnn in self.rnn:
            hidden = rnn(hidden)
        enriched = self.enrich_positions(hidden, selected)
        return self.attention(enriched, enriched, use_causal_mask=True)

    def lookback_sigma(self, features):
        """(B,) the order's causal volatility: RMS of the lookback positions' returns (percent per bar),
        floored at ``SIGMA_FLOOR``."""
        returns = features[:, :self.lookback, 1]
        return self.rms_sigma(returns * returns)

    @staticmethod
    def rms_sigma(squared):
        """(B,) ``lookback_sigma`` from the squared returns (B, L): their mean's root, floored."""
        return ops.maximum(ops.sqrt(ops.mean(squared, axis=1)), SIGMA_FLOOR)

    def initial_carry(self, history, dtype="float32", sigma: bool = True) -> dict:
        """What the decision blocks carry from bar to bar, before execution bar 0: the unexecuted share
        of each path, the running market sums and each path's traded sums (Σ aₖ·pₖ and Σ aₖ/pₖ), the
        path's earlier allocations (B, T+1, 8, bars so far) and, for stop blocks, the order's
        ``sigma`` (``lookback_sigma`` of the ``history`` positions, (B, ≥ L, F))."""
        batch = ops.shape(history)[0]
        market = ops.zeros((batch,), dtype=dtype)
        paths = ops.zeros((batch, self.n_periods, self.n_paths), dtype=dtype)
        carry = {"remaining": ops.ones((batch, self.n_periods, self.n_paths), dtype=dtype), "cum_return": market,
                 "market_volume": market, "market_notional": market, "price_sum": market, "bought": paths,
                 "spent": paths, "history": ops.zeros((batch, self.n_periods, self.n_paths, 0), dtype=dtype)}
        return {**carry, **self.sigma_carry(history, dtype)} if sigma else carry

    def sigma_carry(self, history, dtype="float32") -> dict:
        """The carry's ``sigma`` for stop blocks (``lookback_sigma`` of the ``history`` positions); empty for
        rate blocks.  ``initial_carry(..., sigma=False)`` is the rest of the carry."""
        return {"sigma": ops.cast(self.lookback_sigma(history), dtype)} if self.decision == "stop" else {}

    def decide(self, step: int, context, features, rates, carry: dict, expected: bool = False):
        """Decision block ``step`` (execution bar origin+step, step < T−1): ``context`` (B, H) and
        ``features`` (B, F) are sequence position L−1+step, the last bar before that execution bar;
        ``carry`` is what the earlier blocks left (``initial_carry``).  Returns the allocation (B, T+1, 8)
        and the carry for the next block.  ``call`` and the stepwise inference (``execbench.lem.stepwise``)
        both run every decision through here.  Stop blocks finish the remainder where p > ½; with
        ``expected`` (training) they return the continuation allocation and leave p in
        ``carry["stop_prob"]``."""
        batch = ops.shape(features)[0]
        lo, hi = rates[:, 0][:, None, None], rates[:, 1][:, None, None]
        base = ops.softmax(self.base_logits, axis=0)[step]  # (T+1, 8)
        remaining, history = carry["remaining"], carry["history"]
        carry = dict(carry)
        if step == 0:
            curves = ops.zeros((batch, SHARED_CURVES), dtype=features.dtype)
            own_curves = ops.zeros((batch, self.n_periods, self.n_paths, PATH_CURVES), dtype=features.dtype)
        else:  # bars origin..origin+step−1 are visible; this position is bar origin+step−1
            carry["cum_return"] = carry["cum_return"] + features[:, 1]
            p = ops.exp(carry["cum_return"] / RETURN_SCALE)  # price relative to the arrival price (bar origin−1)
            v = ops.maximum(features[:, 0], 0.0)
            carry["market_volume"] = carry["market_volume"] + v
            carry["market_notional"] = carry["market_notional"] + v * p
            carry["price_sum"] = carry["price_sum"] + p
            twap = carry["price_sum"] / step
            vwap = ops.where(carry["market_volume"] > 0,
                             carry["market_notional"] / ops.maximum(carry["market_volume"], 1e-12), twap)
            last = history[..., -1]
            carry["bought"] = carry["bought"] + last * p[:, None, None]
            carry["spent"] = carry["spent"] + last / p[:, None, None]
            executed = 1.0 - remaining
            notional_path = ops.convert_to_tensor(np.arange(self.n_paths) % 2 == 1)  # (…, volume, notional) pairs
            average = ops.where(notional_path, executed / ops.maximum(carry["spent"], 1e-12),
                                carry["bought"] / ops.maximum(executed, 1e-12))
            curves = RETURN_SCALE * ops.stack([ops.log(p), p / vwap - 1.0, p / twap - 1.0], axis=-1)
            own_curves = ops.stack([executed, RETURN_SCALE * (average / vwap[:, None, None] - 1.0),
                                    RETURN_SCALE * (average / twap[:, None, None] - 1.0)], axis=-1)
        parts = [context, features, rates, curves]
        if self.decision == "stop":  # price curves in units of the order's volatility, and its level
            sigma = carry["sigma"]
            parts = [context, features, rates, curves / sigma[:, None], ops.log(sigma)[:, None]]
            own_curves = ops.concatenate([own_curves[..., :1], own_curves[..., 1:] / sigma[:, None, None, None]],
                                         axis=-1)
        shared = ops.concatenate(parts, axis=-1)
        shared = ops.broadcast_to(shared[:, None, None, :], (batch, self.n_periods, self.n_paths, shared.shape[-1]))
        x = ops.concatenate([shared, own_curves, history], axis=-1)
        h = ops.relu(ops.einsum("bnpi,npij->bnpj", x, self.kernels_1[step]) + self.biases_1[step])
        raw = ops.einsum("bnpi,npij->bnpj", h, self.kernels_2[step])[..., 0] + self.biases_2[step][..., 0]
        desired = (1.0 + ops.softsign(raw)) * base[None]
        capped = soft_clip(desired + lo, hi)
        needed = ops.maximum(remaining - (self.horizon - 1 - step) * hi, 0.0)
        alloc = ops.clip(soft_clip(capped + needed, remaining), 0.0, remaining)
        if self.decision == "stop":
            stop = ops.sigmoid(ops.einsum("bnpi,npij->bnpj", h, self.stop_kernels[step])[..., 0]
                               + self.stop_biases[step][..., 0])
            if expected:
                carry["stop_prob"] = stop
            else:
                alloc = ops.where(stop > 0.5, remaining, alloc)
        carry["remaining"] = remaining - alloc
        carry["history"] = ops.concatenate([history, alloc[..., None]], axis=-1)
        return alloc, carry

    def call(self, inputs, training=None):
        features, rates = inputs
        batch = ops.shape(features)[0]
        expected = bool(training) and self.decision == "stop"
        context = self.context(features)
        carry = self.initial_carry(features, features.dtype)
        allocations, stops = [], []
        for step in range(self.horizon - 1):
            position = self.lookback - 1 + step  # the last bar before execution bar `step`
            alloc, carry = self.decide(step, context[:, position], features[:, position], rates, carry, expected)
            allocations.append(alloc)
            if expected:
                stops.append(carry.pop("stop_prob"))
        allocations.append(carry["remaining"])  # the last bar takes the remainder
        shape = (batch, self.horizon, self.n_periods, 4, 2)
        out = ops.reshape(ops.stack(allocations, axis=1), shape)  # (B, T, T+1, 8) → grid order
        if not expected:
            return out
        stops.append(ops.ones_like(stops[0]))  # the last bar always finishes
        return ops.stack([out, ops.reshape(ops.stack(stops, axis=1), shape)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "lookback": self.lookback, "horizon": self.horizon,
                "n_features": self.n_features, "hidden": self.hidden, "embedding": self.embedding_size,
                "rnn_layers": self.rnn_layers, "heads": self.heads, "mlp_hidden": self.mlp_hidden,
                "decision": self.decision}
