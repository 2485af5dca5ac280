"""The stepwise LEM's programs (``execbench.lem.stepwise``): ``start`` over the history, ``observe`` of one
new sequence position, ``decide`` for each decision block and ``sigma`` (the stop blocks' volatility
from the squared lookback returns).

``TracedPrograms`` traces them from a keras ``LargeExecutionModel``: jitted on JAX (once per batch shape
and block), eager on the other keras backends.

``ExportedPrograms`` runs each (program, block, batch rows) from a ``jax.export`` file under the user
cache, exported from the traced program the first time it is needed.  The exported programs hold the
weights, so a later process that finds them all imports neither keras nor builds the model nor traces
anything: loading keras, building the model and tracing took about 2 s of a warm ``run --strategy lem``.
JAX's persistent compilation cache keeps the compiled programs as before.  The folder is keyed by the
checkpoint's weights as the model was built from them, its configuration, the package's code, the
library versions, keras' dtype settings and the device (``programs_folder``).  Each file starts with a
header naming its folder, program and rows and the sha256 of the exported bytes; a file whose header or
hash does not match (damaged, or copied from another folder), that cannot be read or whose inputs are not
the call's is exported again.  A run computes the same floats whether its programs were traced or loaded
(``tests/test_lem_programs.py`` holds exported and traced programs bit-identical): every call runs the
exported program.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from execbench.cache import cache_key, trim, use_jax_cache, user_cache_dir, write_atomically

CACHE_KIND = "lem-programs"
KEEP_BYTES = 512 * 2**20  # the exported-program folders kept (least recently used go first)
SUFFIX = ".jaxexport"
MAGIC = b"execbench lem program 1\n"  # then one line of JSON (folder, program, rows, sha256), then the bytes


@dataclass(frozen=True)
class StepShape:
    """What the stepwise state machine needs to know about a model: lookback L, horizon T and the kind of
    decision block (``"rate"`` or ``"stop"``)."""

    lookback: int
    horizon: int
    decision: str

    @property
    def positions(self) -> int:
        """Sequence positions the attention cache holds (L + T − 1)."""
        return self.lookback + self.horizon - 1

    @property
    def n_periods(self) -> int:
        """The minimum periods a decision covers (T + 1)."""
        return self.horizon + 1


def _compile(function, jit: bool, static: tuple[int, ...] = ()):
    if jit:
        import jax

        return jax.jit(function, static_argnums=static)
    return function


class TracedPrograms:
    """The stepwise programs of a keras ``LargeExecutionModel`` (see the module docstring)."""

    def __init__(self, model) -> None:
        from execbench.lem.backend import keras_backend

        keras = keras_backend()
        self.model = model
        self.shape = StepShape(model.lookback, model.horizon, model.decision)
        self.jit = keras.backend.backend() == "jax"
        self.start = _compile(self._start_fn, self.jit)
        self.observe = _compile(self._observe_fn, self.jit)
        self.decide = _compile(model.decide, self.jit, static=(0,))
        self.sigma = _compile(model.rms_sigma, self.jit)

    def _attend(self, enriched, cache, position):
        from keras import ops

        positions = self.shape.positions
        visible = ops.arange(positions) <= position
        mask = ops.broadcast_to(visible[None, None, :], (ops.shape(cache)[0], 1, positions))
        return self.model.attention(enriched, cache, attention_mask=mask)[:, 0]

    def _start_fn(self, history):
        from keras import ops

        m = self.model
        batch, lookback = ops.shape(history)[0], history.shape[1]
        selected = m.select(history)
        hidden, states = selected, []
        for rnn in m.rnn:
            initial = rnn.cell.get_initial_state(batch_size=batch)
            _, hidden, state = rnn.inner_loop(hidden, initial, None)
            states.append(list(state))
        enriched = m.enrich_positions(hidden, selected)
        cache = ops.concatenate([enriched, ops.zeros((batch, self.shape.positions - lookback, enriched.shape[-1]),
                                                     dtype=enriched.dtype)], axis=1)
        # the carry's zeros and ones here, in this one program; its ``sigma`` in its own program, as
        # ``StepwiseLEM.start`` computes it (compiled with the rest, XLA rounds the mean differently: 1 ulp)
        carry = m.initial_carry(history, "float32", sigma=False)
        return states, cache, self._attend(enriched[:, -1:], cache, lookback - 1), carry

    def _observe_fn(self, row, states, cache, position):
        from keras import ops

        m = self.model
        selected = m.select(row[:, None, :])
        hidden, new_states = selected[:, 0], []
        for rnn, state in zip(m.rnn, states, strict=True):
            hidden, state = rnn.cell(hidden, state)
            new_states.append(list(state))
        enriched = m.enrich_positions(hidden[:, None, :], selected)
        cache = ops.slice_update(cache, (0, position, 0), enriched)
        return new_states, cache, self._attend(enriched, cache, position)


def exportable() -> bool:
    """Whether ``ExportedPrograms`` can serve the stepwise programs here: keras on JAX (the default, unless
    ``KERAS_BACKEND`` or an imported keras says otherwise) and the ``flatbuffers`` package, which
    ``jax.export`` serialises with."""
    backend = sys.modules["keras"].backend.backend() if "keras" in sys.modules else os.environ.get("KERAS_BACKEND", "jax")
    return backend == "jax" and find_spec("flatbuffers") is not None


def _keras_dtypes() -> tuple[str, str]:
    """keras' float type and dtype policy, which the built model follows: as set in this process if keras is
    imported, else as keras would read them (``$KERAS_HOME/keras.json``, default ``~/.keras``)."""
    if "keras" in sys.modules:
        keras = sys.modules["keras"]
        return keras.config.floatx(), keras.config.dtype_policy().name
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        floatx = json.loads(Path(home, "keras.json").read_text()).get("floatx", "float32")
    except (OSError, ValueError, AttributeError):
        floatx = "float32"
    return floatx, floatx


def programs_folder(digest: str, config: dict[str, Any]) -> Path | None:
    """The folder of a checkpoint's exported programs (``None`` when caching is off), keyed by ``digest`` (the
    sha256 of the weights file the model is built from: ``execbench.lem.checkpoint.read_weights``), its
    architecture and calendar, the package's code (``execbench.cache.cache_key``), the versions of the
    libraries the model's layers come from, keras' float type and dtype policy, JAX's device and its
    64-bit switch."""
    import jax

    folder = user_cache_dir(CACHE_KIND)
    if folder is None:
        return None
    libraries = {name: version(name) for name in ("jax", "jaxlib", "keras", "tkan", "keras_efficient_kan")}
    device = jax.devices()[0]
    key = cache_key("lem-programs", digest, config["architecture"], config["calendar"], libraries, _keras_dtypes(),
                    device.platform, device.device_kind, device.client.platform_version,
                    bool(jax.config.jax_enable_x64))
    return folder / key[:32]


class ExportedPrograms:
    """The stepwise programs from ``jax.export`` files in ``folder``, exported from ``traced()`` (called at most
    once, and only when a program is missing) where there is none (see the module docstring)."""

    def __init__(self, folder: Path, shape: StepShape, traced: Callable[[], TracedPrograms]) -> None:
        use_jax_cache()  # as ``keras_backend`` does for the traced programs: compiled programs are kept
        self.folder, self.shape = Path(folder), shape
        self._traced_factory, self._traced = traced, None
        self._programs: dict[tuple[str, int], Callable] = {}
        self._lock = threading.Lock()
        self._touched = False

    def __repr__(self) -> str:
        return f"ExportedPrograms({self.folder.name}, {len(self._programs)} loaded)"

    def start(self, history):
        return self._program("start", None, (history,))(history)

    def observe(self, row, states, cache, position):
        return self._program("observe", None, (row, states, cache, position))(row, states, cache, position)

    def decide(self, step: int, context, features, rates, carry):
        args = (context, features, rates, carry)
        return self._program("decide", step, args)(*args)

    def sigma(self, squared):
        return self._program("sigma", None, (squared,))(squared)

    # -- loading and exporting ------------------------------------------------------------------------------
    def _program(self, name: str, step: int | None, args: tuple) -> Callable:
        key = (name if step is None else f"{name}{step}", len(args[0]))  # every other shape follows from these
        program = self._programs.get(key)
        if program is None:
            with self._lock:
                program = self._programs.get(key)
                if program is None:
                    program = self._programs[key] = self._load(name, step, key, args)
        return program

    def _load(self, name: str, step: int | None, key: tuple[str, int], args: tuple) -> Callable:
        import jax

        path = self.folder / f"{key[0]}-{key[1]}{SUFFIX}"
        header = {"folder": self.folder.name, "program": key[0], "rows": key[1]}
        exported = self._read(path, header, args)
        if exported is None:
            exported = self._export(name, step, args)
            self._write(path, header, exported.serialize())
        return jax.jit(exported.call)

    def _read(self, path: Path, header: dict, args: tuple):
        """The exported program at ``path`` if its header is ``header`` with the sha256 of the bytes that follow
        and it takes ``args``' shapes, else ``None``."""
        from jax import export

        if not self._touched:  # the folder counts as just used, for the cache's trimming
            self._touched = True
            try:
                os.utime(self.folder)
            except OSError:
                pass
        try:
            blob = path.read_bytes()
            line, _, payload = blob.removeprefix(MAGIC).partition(b"\n")
            if not blob.startswith(MAGIC) or json.loads(line) != {**header, "sha256": _sha256(payload)}:
                return None
            exported = export.deserialize(bytearray(payload))
        except Exception:  # noqa: BLE001 - absent, truncated or from another format: export it again
            return None
        return exported if _avals(exported.in_avals) == _avals(_leaves(args)) else None

    def _export(self, name: str, step: int | None, args: tuple):
        from jax import export

        if self._traced is None:
            self._traced = self._traced_factory()
        function = getattr(self._traced, name)
        return export.export(function)(*(args if step is None else (step, *args)))

    def _write(self, path: Path, header: dict, payload: bytearray) -> None:
        """Keep ``payload`` at ``path`` behind ``MAGIC`` and ``header`` with its sha256, atomically, then trim the
        cache; a folder that cannot be written is skipped (the run goes on)."""
        line = json.dumps({**header, "sha256": _sha256(payload)}).encode()
        if write_atomically(self.folder, path.name, lambda file: file.write(MAGIC + line + b"\n" + payload)):
            trim(self.folder.parent, KEEP_BYTES, keep=self.folder)


def _sha256(payload) -> str:
    return hashlib.sha256(payload).hexdigest()


def _leaves(tree) -> list:
    import jax

    return jax.tree_util.tree_leaves(tree)


def _avals(values) -> list[tuple[tuple[int, ...], str]]:
    return [(tuple(int(d) for d in v.shape), str(np.dtype(v.dtype))) for v in values]

