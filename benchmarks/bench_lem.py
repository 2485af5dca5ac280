"""LEM benchmark: inference and training-step throughput against upstream ``lems``, and the headline
command's cold and warm wall time — all measured in this run.

* inference: orders/s of ``model.predict`` for execbench's LEM and for upstream ``lems``
  ``LargeExecutionModel`` built with the same sizes (lookback, T, hidden, embedding, heads, fused-MLP
  width), the same batch and the same random inputs, after one warm-up call each (compilation
  excluded); upstream is skipped when the optional extra is not installed;
* training: samples/s of ``fit`` over whole batches after a warm-up epoch, ours on the LEM loss and
  upstream on its own ``lem_loss``;
* ``execbench run --strategy lem --asset BTCUSDT``: wall time in a fresh process with empty JAX and
  Numba caches (cold: a fresh clone's first run) and again with the caches that run left (warm);
* the GPU row (issue 16), where JAX sees a GPU: for each size preset (``execbench.lem.presets``: tiny is
  the shipped checkpoint's, paper the upstream README's example), one fresh process on the CPU
  (``JAX_PLATFORMS=cpu``) and one on the GPU time whole-sequence inference, stepwise inference (the
  causal model bar by bar, as ``run --strategy lem`` plays it) and a training step, with the GPU/CPU
  ratio.  Without a GPU the row says so; nothing in execbench needs one.

    .venv/bin/python benchmarks/bench_lem.py [--orders 8192] [--batch 1024] [--skip-run]
    .venv/bin/python benchmarks/bench_lem.py --only-devices [--device-presets tiny,small,paper]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

SIZES = {"lookback": 24, "horizon": 12, "hidden": 16, "embedding": 4, "heads": 2, "mlp_hidden": 16}
N_FEATURES = 5  # ours: volume, return, two calendar features, frequency
TARGET_INFERENCE_RATIO = 2.0
TARGET_COLD_SECONDS = 60.0
TARGET_ISSUE16 = {"cold": 25.0, "warm": 15.0}  # issue 16: the run with empty caches, and warm


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def ours(rng, n: int, batch: int, sizes: dict | None = None):
    from execbench.lem import build_model
    from execbench.lem.training import TrainedLEM
    from execbench.strategy import strategy_class

    sizes = SIZES if sizes is None else sizes
    lem = strategy_class("lem")(**sizes, checkpoint="none", predict_batch=batch, batch_size=256)
    model = build_model(lem.architecture(), "continuous")
    lem.trained = TrainedLEM(architecture=lem.architecture(), training=lem.training(), calendar="continuous",
                             model=model)
    sequence = sizes["lookback"] + sizes["horizon"] - 1
    x = rng.normal(size=(n, sequence, N_FEATURES)).astype("float32")
    rates = np.tile(np.array([[1 / sizes["horizon"] ** 2, 1.0]], "float32"), (n, 1))
    return lem, x, rates


def upstream(rng, n: int, batch: int):
    from execbench.strategies.lem_upstream import UpstreamLEM

    model = UpstreamLEM(lookback=SIZES["lookback"], horizon=SIZES["horizon"], hidden=SIZES["hidden"],
                        embedding=SIZES["embedding"], heads=SIZES["heads"], mlp_hidden=SIZES["mlp_hidden"],
                        predict_batch=batch)
    model.build()
    sequence = SIZES["lookback"] + SIZES["horizon"] - 1
    x = rng.normal(size=(n, sequence, 7)).astype("float32")
    return model, x


def training_throughput(model, inputs, target, loss, batch: int, steps: int) -> float:
    """Samples/s of model.fit over ``steps`` whole batches, after a warm-up epoch (compilation)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    n = batch * steps
    data = [a[:n] for a in inputs] if isinstance(inputs, list) else inputs[:n]
    model.fit(data, target[:n], batch_size=batch, epochs=1, verbose=0, shuffle=False)  # compile
    seconds = best_of(lambda: model.fit(data, target[:n], batch_size=batch, epochs=1, verbose=0, shuffle=False), 2)
    return n / seconds


def random_execution_bars(rng, n: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (prices, volumes), each (n, horizon) float32: the training targets of the fit timings."""
    prices = np.exp(np.cumsum(rng.normal(0, 2e-3, (n, horizon)), axis=1)).astype("float32")
    return prices, rng.gamma(2.0, 1.0, (n, horizon)).astype("float32")


def lem_fit_throughput(model, x, rates, prices, volumes, steps: int) -> float:
    """Samples/s of ``training_throughput`` for execbench's LEM on its own loss, batches of 256."""
    from execbench.lem.loss import training_loss

    return training_throughput(model, [x, rates], np.stack([prices, volumes], axis=-1),
                               lambda y, p: training_loss(p, y[..., 0], y[..., 1]), 256, steps)


def run_seconds(env: dict, out: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "execbench.cli", "run", "--strategy", "lem", "--asset", "BTCUSDT",
                    "--out", out], env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def preset_sizes(preset: str) -> dict:
    """The model sizes (``SIZES``' keys) of an ``execbench.lem.presets`` preset."""
    from execbench.lem.presets import DEFAULTS, PRESETS

    return {k: {**DEFAULTS, **PRESETS[preset]}[k] for k in SIZES}


def stepwise_seconds(lem, x: np.ndarray, rates: np.ndarray, repeats: int) -> float:
    """Seconds to play every order's T−1 decisions bar by bar (``StepwiseLEM``: one pass over the history,
    then one position and one decision block per bar), as ``run --strategy lem`` does; after a warm-up."""
    from execbench.lem.stepwise import StepwiseLEM

    try:  # the programs traced from the keras model (a tree from before execbench.lem.programs takes the model)
        from execbench.lem.programs import TracedPrograms
    except ImportError:
        stepper = StepwiseLEM(lem.model)
    else:
        stepper = StepwiseLEM(TracedPrograms(lem.model))
    lookback = lem.lookback_bars

    def play() -> None:
        state = stepper.start(x[:, :lookback], rates)
        for step in range(lem.horizon - 1):
            if step > 0:
                stepper.observe(state, x[:, lookback - 1 + step])
            stepper.decide(state)  # returns NumPy: waits for the device

    play()  # compile
    return best_of(play, repeats)


def device_measure(preset: str, n: int, batch: int, repeats: int, fit_steps: int) -> dict:
    """One process's figures on the platform JAX_PLATFORMS chose (the GPU row's child)."""
    import jax

    rng = np.random.default_rng(0)
    sizes = preset_sizes(preset)
    lem, x, rates = ours(rng, n, batch, sizes)
    lem.predict_all(x[:batch], rates[:batch])  # compile
    predict = best_of(lambda: lem.predict_all(x, rates), repeats)
    stepwise = stepwise_seconds(lem, x, rates, repeats)
    prices, volumes = random_execution_bars(rng, n, sizes["horizon"])
    fit = lem_fit_throughput(lem.model, x, rates, prices, volumes, max(1, min(n // 256, fit_steps)))
    device = jax.devices()[0]
    return {"preset": preset, "device": device.device_kind, "jax": jax.__version__, "predict_orders_s": n / predict,
            "stepwise_orders_s": n / stepwise, "fit_samples_s": fit}


def default_platform_env() -> dict:
    """The environment in which JAX picks its default platform (the GPU where it sees one)."""
    return {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}


def sees_gpu() -> bool:
    """Whether JAX's default device in a fresh process is an accelerator."""
    probe = subprocess.run([sys.executable, "-c", "import jax; print(jax.devices()[0].platform)"],
                           env=default_platform_env(), capture_output=True, text=True)
    return probe.returncode == 0 and probe.stdout.strip().splitlines()[-1:] not in ([], ["cpu"])


def device_rows(args: argparse.Namespace) -> None:
    """The GPU row: each preset in a fresh process per platform, then the GPU/CPU ratios."""
    if not sees_gpu():
        print("GPU row: JAX sees no GPU on this machine (jax.devices() is the CPU); skipped. "
              "execbench never needs one.")
        return
    print(f"GPU row: execbench's LEM, {args.device_orders:,} orders, predict batch {args.batch}, "
          f"training {args.device_fit_steps} batches of 256, {os.cpu_count()} CPUs; each figure the best of "
          f"{args.repeats} after a warm-up, in a fresh process per preset and device", flush=True)
    print(f"{'preset':<8}{'device':<24}{'predict orders/s':>18}{'stepwise orders/s':>19}{'fit samples/s':>15}"
          f"{'jax':>8}", flush=True)
    rows = []
    for preset in args.device_presets.split(","):
        for name, env in (("cpu", {**os.environ, "JAX_PLATFORMS": "cpu"}), ("gpu", default_platform_env())):
            if name not in args.device_platforms.split(","):
                continue
            child = subprocess.run([sys.executable, __file__, "--device-child", preset, "--orders",
                                    str(args.device_orders), "--batch", str(args.batch), "--repeats",
                                    str(args.repeats), "--device-fit-steps", str(args.device_fit_steps)],
                                   env=env, capture_output=True, text=True)
            if child.returncode != 0:
                raise SystemExit(f"GPU row: the {preset} preset on {name} failed:\n{child.stderr[-3000:]}")
            row = json.loads(child.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"{row['preset']:<8}{row['device'][:23]:<24}{row['predict_orders_s']:>18,.0f}"
                  f"{row['stepwise_orders_s']:>19,.0f}{row['fit_samples_s']:>15,.0f}{row['jax']:>8}", flush=True)
    for preset in args.device_presets.split(","):
        pair = [row for row in rows if row["preset"] == preset]
        if len(pair) != 2:
            continue
        cpu, gpu = pair
        print(f"{cpu['preset']:<8}GPU/CPU: predict {gpu['predict_orders_s'] / cpu['predict_orders_s']:.1f}x, "
              f"stepwise {gpu['stepwise_orders_s'] / cpu['stepwise_orders_s']:.1f}x, "
              f"fit {gpu['fit_samples_s'] / cpu['fit_samples_s']:.1f}x")


def main(args: argparse.Namespace) -> None:
    if args.device_child:
        print(json.dumps(device_measure(args.device_child, args.orders, args.batch, args.repeats,
                                        args.device_fit_steps)))
        return
    if not args.only_devices:
        headline(args)
    device_rows(args)


def headline(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    n, horizon = args.orders, SIZES["horizon"]
    lem, x, rates = ours(rng, n, args.batch)
    import jax

    print(f"LEM benchmark: sizes {SIZES}, {n:,} orders, batch {args.batch}, {os.cpu_count()} CPUs, "
          f"keras backend {os.environ['KERAS_BACKEND']} on {jax.devices()[0].device_kind}")
    lem.predict_all(x[: args.batch], rates[: args.batch])  # compile
    t_ours = best_of(lambda: lem.predict_all(x, rates), args.repeats)
    rows = [("execbench LEM predict", t_ours)]
    try:
        up, up_x = upstream(rng, n, args.batch)
    except Exception as exc:  # the optional extra is missing
        up = None
        print(f"upstream lems: skipped ({exc})")
    if up is not None:
        up.predict_all(up_x[: args.batch], 1 / horizon**2, 1.0)  # compile
        t_up = best_of(lambda: up.predict_all(up_x, 1 / horizon**2, 1.0), args.repeats)
        rows.append(("upstream lems predict", t_up))
    print(f"{'inference':<28}{'seconds':>9}{'orders/s':>12}")
    for name, seconds in rows:
        print(f"{name:<28}{seconds:>9.3f}{n / seconds:>12,.0f}")
    if up is not None:
        ratio = t_up / t_ours
        print(f"execbench LEM predict is {ratio:.1f}x upstream's on the same batch "
              f"(target >= {TARGET_INFERENCE_RATIO:g}x: {'met' if ratio >= TARGET_INFERENCE_RATIO else 'NOT met'})")

    from execbench.lem import build_model

    prices, volumes = random_execution_bars(rng, n, horizon)
    steps = max(1, min(n // 256, 16))
    print(f"{'training step (batch 256)':<28}{'samples/s':>12}")
    trains = {}
    for decision in ("rate", "stop"):  # the paper's decision blocks (upstream's architecture), and ours
        model = build_model({**lem.architecture(), "decision": decision}, "continuous")
        trains[decision] = lem_fit_throughput(model, x, rates, prices, volumes, steps)
        print(f"{f'execbench LEM fit ({decision})':<28}{trains[decision]:>12,.0f}")
    ours_train = trains["rate"]
    print(f"stop blocks train {trains['stop'] / trains['rate']:.2f}x the samples/s of rate blocks")
    if up is not None:
        import lems

        y = lems.add_config_to_y(np.stack([volumes, prices], axis=-1))
        up_inputs = lems.add_config_to_X(up_x, 1 / horizon**2, 1.0)
        up_train = training_throughput(up.model, up_inputs, y, lems.lem_loss, 256, steps)
        print(f"{'upstream lems fit':<28}{up_train:>12,.0f}")
        print(f"execbench LEM (rate blocks) trains {ours_train / up_train:.1f}x as many samples/s as upstream")

    if args.skip_run:
        return
    with tempfile.TemporaryDirectory() as caches:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(caches) / "xdg"), "NUMBA_CACHE_DIR": str(Path(caches) / "numba"),
               "EXECBENCH_CACHE_DIR": str(Path(caches) / "execbench")}
        cold = run_seconds(env, str(Path(caches) / "run-cold"))
        warm = run_seconds(env, str(Path(caches) / "run-warm"))
        stages = json.loads((Path(caches) / "run-warm" / "run.json").read_text())["timings_s"]
    print("execbench run --strategy lem --asset BTCUSDT (29,077 test orders x 104 scenarios, audit included):")
    print(f"  cold (empty user and Numba caches: JAX programs, stopping rules, option replay) {cold:.1f} s "
          f"(target < {TARGET_COLD_SECONDS:g} s: "
          f"{'met' if cold < TARGET_COLD_SECONDS else 'NOT met'}); warm {warm:.1f} s ({cold / warm:.1f}x faster)")
    print(f"  the warm run's stages (its run.json): look-ahead audit {stages.get('audit_s', 0):.2f} s, strategy and "
          f"replay {stages['strategy_and_replay_s']:.2f} s; loading and evaluating {stages['total_s']:.2f} s of "
          f"{warm:.2f} s (the rest: imports before the command, writing the run folder)")
    print("  issue 16's targets: " + ", ".join(
        f"{kind} <= {limit:g} s ({seconds / limit:.2f}x: {'met' if seconds <= limit else 'NOT met'})"
        for kind, limit, seconds in (("cold", TARGET_ISSUE16["cold"], cold), ("warm", TARGET_ISSUE16["warm"], warm))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-run", action="store_true", help="skip the cold/warm execbench run timing")
    parser.add_argument("--only-devices", action="store_true", help="only the GPU row")
    parser.add_argument("--device-presets", default="tiny,small,paper", help="size presets of the GPU row")
    parser.add_argument("--device-orders", type=int, default=8192, help="orders of the GPU row")
    parser.add_argument("--device-fit-steps", type=int, default=8, help="training batches timed in the GPU row")
    parser.add_argument("--device-platforms", default="cpu,gpu", help="cpu, gpu or both (the GPU row)")
    parser.add_argument("--device-child", help=argparse.SUPPRESS)
    main(parser.parse_args())
