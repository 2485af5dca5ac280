"""The commands: parse what the options say, call the library, print and save.

Each command imports the library stages it needs when it runs, so the parser (and ``--help``) stays
light.  No pipeline logic lives here: fitting, auditing and replaying are ``execbench.evaluate`` /
``execbench.compare``; experiments are library functions too.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from execbench.cli import console
from execbench.errors import DataError, ParameterError

# -- shared parsing ---------------------------------------------------------------------------------------
def _command_line() -> str | None:
    return "execbench " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("execbench") else None


def _namespaces(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """The three parameter namespaces: strategy (``--param``), synthetic market (``--market-param``) and
    impact (``--impact-param``, as an ``ImpactModel`` or ``None``)."""
    from execbench.engine import ImpactModel
    from execbench.params import parse_params

    strategy = parse_params(getattr(args, "param", None), "--param")
    market = parse_params(getattr(args, "market_param", None), "--market-param")
    impact = ImpactModel.from_params(parse_params(getattr(args, "impact_param", None), "--impact-param"))
    return strategy, market, impact


def _load(args: argparse.Namespace, market: dict[str, Any]):
    from execbench.data import load_bars
    from execbench.orders import make_split

    with console.out.status(f"loading {args.asset} {args.freq or ''}"):
        bars = load_bars(args.asset, args.freq, synthetic=market)
    return bars, make_split(bars, args.test_start, args.val_start, args.test_end)


def _check_out(args: argparse.Namespace) -> None:
    """Before any work: a given --out must be able to receive the output (see ``prepare_out_dir``)."""
    from execbench.reporting.run_folder import prepare_out_dir

    if getattr(args, "out", None):
        prepare_out_dir(args.out, overwrite=args.overwrite)


def _out_dir(args: argparse.Namespace, asset: str, label: str) -> Path:
    from execbench.reporting.run_folder import default_out_dir

    return Path(args.out) if args.out else default_out_dir(asset, label)


def _periods(text: str | None, horizon: int) -> list[int | str] | None:
    if not text:
        return None
    out: list[int | str] = []
    for item in text.split(","):
        item = item.strip().lower()
        if item == "match":
            out.append("match")
        elif item.isdigit() and 1 <= int(item) <= horizon:
            out.append(int(item))
        else:
            raise ParameterError(f"--periods: {item!r} is not a minimum period in 1..{horizon} or 'match'")
    return out


def _breakdowns(text: str | None) -> list[str]:
    from execbench.analysis.tables import BREAKDOWNS

    keys = [b.strip() for b in text.split(",") if b.strip()] if text else []
    bad = [k for k in keys if k not in BREAKDOWNS]
    if bad:
        raise ParameterError(f"--by {bad[0]!r}: expected a comma-separated list of {', '.join(BREAKDOWNS)}")
    return keys


def _list(text: str | None, option: str, kind=str) -> list:
    items = [x.strip() for x in (text or "").split(",") if x.strip()]
    try:
        return [kind(x) for x in items]
    except ValueError:
        raise ParameterError(f"{option} {text!r}: expected a comma-separated list of {kind.__name__} values") from None


def _numbers(text: str, option: str) -> list[float]:
    return _list(text, option, float)


def _no_params_with_state(args: argparse.Namespace, params: dict[str, Any]) -> None:
    if args.state and params:
        raise ParameterError(f"--param {next(iter(params))}: not with --state (the saved strategy carries its parameters)")


def _report(out_dir: Path, seed: int) -> None:
    from execbench.reporting.report import build_report

    with console.out.status(f"writing the PDF report in {out_dir}"):
        path = build_report(out_dir, seed=seed)
    console.out.print(f"report: {path}")


def _print_edges(table) -> None:
    from execbench.analysis.decomposition import edge_display

    console.print_frame(edge_display(table),
                        "edge, perf_bps (positive = better), vs the realised window (the contract), the full window "
                        "and arrival; Option = what optstop, with no information, earns on the same orders; Rest = "
                        "vs realised - Option (95% date-block CI, HAC p)")


# -- commands -----------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    """``execbench run``: fit, audit and evaluate one strategy; print and save its tables."""
    from execbench.contracts import run_periods
    from execbench.pipeline.evaluation import evaluate
    from execbench.reporting.run_folder import save_evaluation
    from execbench.results import SIGN_CONVENTION
    from execbench.strategy import load_fitted, load_strategy

    started = time.perf_counter()
    by = _breakdowns(args.by)
    params, market, impact = _namespaces(args)
    _no_params_with_state(args, params)
    _check_out(args)
    bars, split = _load(args, market)
    strategy = load_fitted(args.state) if args.state else load_strategy(args.strategy, **params)
    with console.replay_progress(f"evaluating {strategy.name}") as callbacks:
        evaluation = evaluate(strategy, bars, horizon=args.horizon, split=split, order_size=args.order_size,
                              fit=not args.state, impact=impact, audit=not args.no_audit,
                              audit_orders=args.audit_orders, seed=args.seed, **callbacks)
    if args.save_state:
        console.out.print(f"saved fitted state to {strategy.save(args.save_state)}")
    console.print_audit(evaluation.audit, evaluation.warnings)
    evaluation.timings["total_s"] = time.perf_counter() - started
    out_dir = _out_dir(args, evaluation.asset, strategy.name)
    extra = {"command": _command_line(), "seed": args.seed, "fitted_state": args.state,
             "trained_on": getattr(strategy, "trained_on", None)}
    choice = {"benchmark": args.benchmark, "target": args.target}
    periods = run_periods(args.horizon)
    paths = save_evaluation(evaluation, out_dir, extra=extra, by=by, periods=periods, overwrite=args.overwrite, **choice)
    console.print_frame(evaluation.table("paper", **choice),
                        f"{strategy.name.upper()} on {evaluation.asset} {evaluation.freq}, T={args.horizon}, "
                        f"{args.target} target vs {args.benchmark.upper()}")
    impact_note = "no market impact" if impact is None or not impact.active else impact.describe()
    console.print_frame(evaluation.table("shortfall", periods=periods, **choice),
                        f"implementation shortfall vs arrival price (bps, positive = cost) = delay + timing + impact + "
                        f"opportunity; {impact_note}")
    _print_edges(evaluation.table("edges", periods=periods, **choice))
    for key in by:
        console.print_frame(evaluation.table("breakdown", by=key, periods=periods, **choice),
                            f"by {key}: bps (paper sign)")
    skipped = ", ".join(f"{k} {v}" for k, v in evaluation.windows.skipped.items() if v) or "none"
    console.out.print(f"{SIGN_CONVENTION}.")
    console.out.print(f"{evaluation.result.n_orders:,} orders × {len(evaluation.result.grid)} scenarios, origins "
                      f"{split.test_start.date()} → {evaluation.result.orders['origin'].max().date()}; skipped origins: "
                      f"{skipped}; {evaluation.timings['total_s']:.1f} s")
    console.out.print(f"saved {len(paths)} files to {out_dir}/")
    if args.report:
        _report(out_dir, args.seed)
    return 0


def compare(args: argparse.Namespace) -> int:
    """``execbench compare``: fit, audit and evaluate several strategies on the same orders."""
    from execbench.pipeline.evaluation import compare as compare_strategies
    from execbench.reporting.run_folder import comparison_folder
    from execbench.strategy import load_strategy

    started = time.perf_counter()
    names = [n.strip() for n in args.strategies.split(",") if n.strip()]
    if not names:
        raise ParameterError(f"--strategies {args.strategies!r}: expected comma-separated strategy names, e.g. twap,flex")
    periods = _periods(args.periods, args.horizon)
    by = _breakdowns(args.by)
    if by and "twap" not in names:
        raise ParameterError("--by: the paired tests are against TWAP; add twap to --strategies")
    _, market, impact = _namespaces(args)
    _check_out(args)
    bars, split = _load(args, market)
    strategies = [load_strategy(n) for n in names]
    out_dir = _out_dir(args, str(bars.attrs.get("asset")), "compare")
    # each strategy's files are written while the next one is evaluated; the folder appears whole at the end
    with comparison_folder(out_dir, overwrite=args.overwrite) as folder:
        with console.replay_progress(f"comparing {len(names)} strategies", per_order=len(names)) as callbacks:
            comparison = compare_strategies(strategies, bars, horizon=args.horizon, split=split,
                                            order_size=args.order_size, impact=impact, audit=not args.no_audit,
                                            audit_orders=args.audit_orders, seed=args.seed, on_evaluated=folder.add,
                                            **callbacks)
        paths = _finish_comparison(args, comparison, folder, started, names, periods, by)
    first = comparison[names[0]]
    console.out.print(f"{first.result.n_orders:,} orders per strategy; {first.timings['compare_total_s']:.1f} s; "
                      f"saved {len(paths)} files to {out_dir}/")
    if args.report:
        _report(out_dir, args.seed)
    return 0


def _finish_comparison(args, comparison, folder, started: float, names: list[str], periods, by) -> list[Path]:
    """Print a comparison's audits, table, edges and paired breakdowns, and write the rest of its folder."""
    from execbench.results import SIGN_CONVENTION

    for evaluation in comparison.values():
        console.print_audit(evaluation.audit, evaluation.warnings)
    first = next(iter(comparison.values()))
    first.timings["compare_total_s"] = time.perf_counter() - started
    console.print_frame(comparison.table(periods=periods, benchmark=args.benchmark, target=args.target),
                        f"{', '.join(names)} on {first.asset} {first.freq}, T={args.horizon}: mean bps vs "
                        f"{args.benchmark.upper()} ({args.target} target), same orders")
    edges = comparison.edges(periods, args.benchmark, args.target)
    _print_edges(edges)
    tables = {}
    for key in by:
        table = comparison.paired_breakdown(key, periods, args.benchmark, args.target, seed=args.seed)
        caption = (f"Each strategy minus TWAP on the same orders within each {key} (perf_bps, positive = better): mean "
                   "difference with its 95 % date-block CI (blocks over the whole period), HAC p and Holm p")
        console.print_frame(table[[key.capitalize(), "Strategy", "Side", "Min period", "perf_bps", "Mean diff", "CI lo",
                                   "CI hi", "Holm p", "N"]], caption)
        tables[f"paired_by_{key}"] = (table, caption)
    console.out.print(f"{SIGN_CONVENTION}.")
    return folder.finish(comparison, periods=periods, benchmark=args.benchmark, target=args.target,
                         extra={"command": _command_line(), "seed": args.seed}, tables=tables, edges=edges)


def audit(args: argparse.Namespace) -> int:
    """``execbench audit``: the look-ahead audit alone; exit status 1 if the strategy leaks."""
    from execbench.pipeline.audit import audit_strategy
    from execbench.strategy import load_fitted, load_strategy

    params, market, _ = _namespaces(args)
    _no_params_with_state(args, params)
    bars, split = _load(args, market)
    strategy = load_fitted(args.state) if args.state else load_strategy(args.strategy, **params)
    with console.out.status(f"look-ahead audit of {strategy.name}"):
        report = audit_strategy(strategy, bars, horizon=args.horizon, split=split, n_orders=args.orders,
                                seed=args.seed, fit=not args.state)
    frame = report.to_frame()
    frame["passed"] = frame["passed"].map({True: "pass", False: "FAIL"})
    frame["max_change"] = frame["max_change"].map(lambda v: f"{v:.3g}")
    frame = frame.astype(object).where(frame.notna(), "")
    console.print_frame(frame, f"look-ahead audit: {strategy.name} on {report.asset}, {report.n_orders} orders; "
                               f"input perturbed at bars >= origin+step, allocations for bars <= origin+step "
                               f"must not change")
    console.print_audit(report)
    return 0 if report.passed else 1


def simulate(args: argparse.Namespace) -> int:
    """``execbench simulate``: synthetic Heston bars written in the bundled format."""
    from execbench.data import load_bars
    from execbench.data.writing import write_bars

    _, market, _ = _namespaces(args)
    bars = load_bars("synthetic:heston", args.freq, synthetic=market)
    path = write_bars(bars, Path(args.out))
    console.out.print(f"wrote {len(bars):,} {bars.attrs['freq']} bars to {path} ({bars.attrs['sources'][0]})",
                      highlight=False)
    return 0


def frontier(args: argparse.Namespace) -> int:
    """``execbench frontier``: Almgren–Chriss's measured cost/risk trade-off against theory."""
    from execbench.pipeline.frontier import FRONTIER_IMPACT, FRONTIER_MARKET, efficient_frontier
    from execbench.reporting.figures import frontier_figure, save_figure
    from execbench.reporting.run_folder import staged_folder
    from execbench.reporting.writers import write_table

    from execbench.errors import ParameterError
    from execbench.learning.ppo import PPO_DEFAULTS
    from execbench.params import parse_params

    _, market, impact = _namespaces(args)
    _check_out(args)
    aversions = _numbers(args.risk_aversions, "--risk-aversions")
    ppo = parse_params(args.ppo_param, "--ppo-param") if args.ppo else None
    if args.ppo_param and not args.ppo:
        raise ParameterError("--ppo-param: pass --ppo to train the PPO agents it configures")
    if ppo and set(ppo) - set(PPO_DEFAULTS):
        raise ParameterError(f"--ppo-param: unknown {sorted(set(ppo) - set(PPO_DEFAULTS))}; valid: {', '.join(PPO_DEFAULTS)}")
    if str(args.asset).lower().startswith("synthetic:"):
        market = {**FRONTIER_MARKET, **market}  # the closed form's setting unless overridden
    bars, split = _load(args, market)
    with console.out.status("sweeping Almgren-Chriss risk aversion") as status:
        def progress(lam: float, i: int, logs: dict) -> None:
            status.update(f"PPO for λ={lam:g}: iteration {i}, episode score {logs['reward']:+.2f} bps "
                          f"(std {logs['reward_std']:.1f})")
        table = efficient_frontier(bars, split=split, horizon=args.horizon, order_size=args.order_size,
                                   impact=impact or FRONTIER_IMPACT, risk_aversions=aversions, ppo=ppo,
                                   on_ppo_iteration=progress)
    out_dir = _out_dir(args, str(bars.attrs.get("asset")), "frontier")
    with staged_folder(out_dir, overwrite=args.overwrite) as stage:
        paths = write_table(table, stage, "frontier", caption="Almgren-Chriss efficient frontier vs TWAP (IS, bps)")
        paths += save_figure(frontier_figure(table), stage, "frontier")
    console.print_frame(table, "Almgren-Chriss under the replay's impact model: measured vs theory "
                               "(IS vs arrival, bps; non-overlapping orders)")
    console.out.print(f"saved {len(paths)} files to {out_dir}/")
    return 0


def cost_curve(args: argparse.Namespace) -> int:
    """``execbench cost-curve``: a strategy's implementation shortfall against order size, with impact."""
    from execbench.pipeline.frontier import cost_curve as measure_cost_curve
    from execbench.reporting.figures import cost_curve_figure, save_figure
    from execbench.reporting.run_folder import staged_folder
    from execbench.reporting.writers import write_table
    from execbench.strategy import load_strategy

    params, market, impact = _namespaces(args)
    _check_out(args)
    if impact is None or not impact.active:
        raise ParameterError("cost-curve: give an impact model, e.g. --impact-param eps=0.01 (--impact-param beta=0.5)")
    bars, split = _load(args, market)
    strategy = load_strategy(args.strategy, **params)
    sizes = _numbers(args.sizes, "--sizes")
    with console.out.status(f"replaying {strategy.name} at {len(sizes)} order sizes"):
        table = measure_cost_curve(strategy, bars, split=split, horizon=args.horizon, impact=impact, sizes=sizes)
    out_dir = _out_dir(args, str(bars.attrs.get("asset")), f"{strategy.name}-cost-curve")
    title = f"{strategy.name.upper()} on {bars.attrs.get('asset')} {bars.attrs.get('freq')}: {impact.describe()}"
    with staged_folder(out_dir, overwrite=args.overwrite) as stage:
        paths = write_table(table, stage, "cost_curve", caption=title)
        paths += save_figure(cost_curve_figure(table, "\n".join(textwrap.wrap(title, 90))), stage, "cost_curve")
    console.print_frame(table, f"{strategy.name.upper()}: implementation shortfall vs order size (bps)")
    console.out.print(f"saved {len(paths)} files to {out_dir}/")
    return 0


def option_value(args: argparse.Namespace) -> int:
    """``execbench option-value``: the option's value under the fitted model beside optstop on the test period."""
    from execbench.pipeline.option import option_value as measure
    from execbench.reporting.run_folder import staged_folder
    from execbench.reporting.writers import write_table

    _check_out(args)
    periods = _periods(args.periods, args.horizon)
    if periods and "match" in periods:
        raise ParameterError("--periods: the match case has no option; give minimum periods in 1..T")
    bars, split = _load(args, {})
    with console.replay_progress("optstop on the test orders") as callbacks:
        value = measure(bars, horizon=args.horizon, split=split, periods=periods, audit=not args.no_audit,
                        seed=args.seed, **callbacks)
    evaluation = value.evaluation
    console.print_audit(evaluation.audit, evaluation.warnings)
    table = value.table
    where = (f"{evaluation.asset} {evaluation.freq}, T={args.horizon}, {evaluation.result.n_orders:,} test orders from "
             f"{split.test_start.date()}, mean causal volatility {value.sigma_bps:.1f} bps per bar")
    shown = table[["Side", "Benchmark", "Target", "Min period", "Model", "Model SE", "Realised"]].copy()
    shown["Realised 95% CI"] = [f"[{lo:+.2f}, {hi:+.2f}]" for lo, hi in
                                zip(table["Realised lo"], table["Realised hi"], strict=True)]
    shown["Front"], shown["Mean end bar"] = table["Front"], table["Mean end bar"]
    console.print_frame(shown, f"value of the flexible window (perf_bps, positive = better): Model = optstop's "
                               f"expected edge under the martingale model fitted on the training bars; Realised = "
                               f"what it earns on the test orders; {where}")
    out_dir = _out_dir(args, evaluation.asset, "option-value")
    with staged_folder(out_dir, overwrite=args.overwrite) as stage:
        paths = write_table(table, stage, "option_value",
                            caption=f"Value of the flexible window, perf_bps (positive = better); {where}. Command: "
                                    f"{_command_line() or 'execbench option-value'}")
    console.out.print(f"saved {len(paths)} files to {out_dir}/")
    return 0


def _epoch_printer(bar, task):
    def report(name: str, epoch: int, logs: dict) -> None:
        line = console.epoch_line(name, epoch, logs)
        bar.update(task, advance=1, description=line)
        bar.console.print(f"  {line}", highlight=False)
    return report


def train(args: argparse.Namespace) -> int:
    """``execbench train MODEL``: train a model and write its checkpoint."""
    trainers = {"lem": _train_lem, "ppo": _train_ppo, "flow": _train_flow, "meta": _train_meta}
    if args.model not in trainers:
        raise ParameterError(f"train: unknown model {args.model!r}; available: {', '.join(trainers)}")
    return trainers[args.model](args)


def _train_meta(args: argparse.Namespace) -> int:
    """``execbench train meta``: the selector over ``--param candidates=a,b,...`` from their results on
    the training and validation orders."""
    from execbench.learning.meta import DEFAULT_CANDIDATES, load_candidates
    from execbench.params import parse_params
    from execbench.pipeline.meta import TRAIN_EVERY, train_meta
    from execbench.reporting.run_folder import staged_folder

    _, market, _ = _namespaces(args)
    params = parse_params(args.param, "--param")
    unknown = set(params) - {"candidates", "every"}
    if unknown:
        raise ParameterError(f"--param {sorted(unknown)[0]}: train meta takes candidates=a,b,... and every=N")
    names = tuple(n.strip() for n in str(params.get("candidates", ",".join(DEFAULT_CANDIDATES))).split(",") if n.strip())
    candidates = load_candidates(names)
    _check_out(args)
    bars, split = _load(args, market)
    with console.out.status("training the meta selector") as status:
        trained = train_meta(bars, split, candidates, horizon=args.horizon, every=int(params.get("every", TRAIN_EVERY)),
                             on_stage=lambda text: status.update(text))
    summary = trained.summary
    console.out.print(f"selector over {', '.join(names)} on {trained.selector.trained_on['orders']:,} orders "
                      f"({trained.selector.trained_on['validation_orders']:,} in validation); penalty {summary['alpha']:g}",
                      highlight=False)
    for name, value in summary["validation_by_candidate"].items():
        console.out.print(f"  validation mean perf_bps, {name} alone: {value:+.3f}", highlight=False)
    console.out.print(f"  validation mean perf_bps, selector (penalty {summary['alpha']:g}, fitted on the training "
                      f"orders): {summary['validation_by_alpha'][summary['alpha']]:+.3f}", highlight=False)
    out_dir = _out_dir(args, str(bars.attrs.get("asset")), "meta-checkpoint")
    with staged_folder(out_dir, overwrite=args.overwrite) as stage:
        paths = trained.selector.save(stage, extra={"command": _command_line(), "summary": summary})
    console.out.print(f"saved {len(paths)} file to {out_dir}/ — use it with --param checkpoint={out_dir}")
    return 0


def _train_ppo(args: argparse.Namespace) -> int:
    """``execbench train ppo``: PPO in the execution environment on the training bars; ``--seed`` seeds it."""
    from execbench.orders import training_bars
    from execbench.reporting.run_folder import staged_folder
    from execbench.strategy import load_strategy

    params, market, _ = _namespaces(args)
    _check_out(args)
    bars, split = _load(args, market)
    params = {"seed": args.seed, "horizon": args.horizon, **params, "checkpoint": None}
    agent = load_strategy("ppo", **params)
    train = training_bars(bars, split.train_end)
    console.out.print(f"training ppo (seed {agent.seed}, {agent.iterations} iterations × {agent.episodes:,} episodes) on "
                      f"{bars.attrs.get('asset')} {bars.attrs.get('freq')}, bars before {split.train_end.date()}, every "
                      f"scenario of the T={agent.horizon} grid")
    with console.progress() as bar:
        task = bar.add_task("compiling the environment and the first iteration", total=agent.iterations)

        def report(i: int, logs: dict) -> None:
            bar.update(task, completed=i, description=f"episode perf {logs['reward']:+.2f} bps (std "
                                                      f"{logs['reward_std']:.1f}), finish {logs['finish']:.0%}")
        agent.train(train, on_iteration=report)
    policy = agent.policy
    out_dir = _out_dir(args, str(bars.attrs.get("asset")), "ppo-checkpoint")
    with staged_folder(out_dir, overwrite=args.overwrite) as stage:
        paths = policy.save(stage, extra={"command": _command_line()})
    last = policy.history["reward"][-20:]
    console.out.print(f"trained {len(policy.history['reward'])} iterations on {policy.trained_on['orders']:,} orders in "
                      f"{policy.seconds:.0f} s; mean episode perf over the last {len(last)} iterations "
                      f"{sum(last) / len(last):+.2f} bps (sampled actions)", highlight=False)
    console.out.print(f"saved {len(paths)} files to {out_dir}/ — use it with --param checkpoint={out_dir}")
    return 0


def _train_flow(args: argparse.Namespace) -> int:
    """``execbench train flow``: the flow-matching policy on the experts' training episodes, then the
    sampler trade-off (N-step flow vs the distilled 1- and 2-step samplers) on validation orders."""
    import pandas as pd

    from execbench.learning.flow import validation_tradeoff
    from execbench.orders import training_bars
    from execbench.reporting.run_folder import staged_folder
    from execbench.strategy import load_strategy

    params, market, _ = _namespaces(args)
    _check_out(args)
    bars, split = _load(args, market)
    agent = load_strategy("flow", **{"seed": args.seed, "horizon": args.horizon, **params, "checkpoint": None})
    console.out.print(f"training flow (seed {agent.seed}; experts {agent.experts}) on {bars.attrs.get('asset')} "
                      f"{bars.attrs.get('freq')}, every {agent.every}th order before {split.train_end.date()}", highlight=False)
    with console.progress() as bar:
        task = bar.add_task("fitting the experts", total=agent.iterations + agent.refine_iterations)

        def report(i: int, total: int, logs: dict) -> None:
            text = f"flow loss {logs['flow']:.3f}, consistency {logs['consistency']:.4f}"
            if i > agent.iterations:
                text += f", refining episodes {logs['refine']:+.2f} bps"
            bar.update(task, completed=i, description=text)
        agent.train(training_bars(bars, split.train_end), on_iteration=report,
                    on_stage=lambda text: bar.update(task, description=text))
    policy = agent.policy
    with console.out.status("sampler trade-off on the validation orders"):
        tradeoff = validation_tradeoff(policy, bars, split.val_start, split.test_start)
    console.print_frame(pd.DataFrame(tradeoff), f"samplers on validation orders from {split.val_start.date()} "
                                                f"(mean perf_bps, decision time for 10,000 orders × T bars)")
    out_dir = _out_dir(args, str(bars.attrs.get("asset")), "flow-checkpoint")
    with staged_folder(out_dir, overwrite=args.overwrite) as stage:
        paths = policy.save(stage, extra={"command": _command_line(), "sampler_tradeoff": tradeoff})
    console.out.print(f"trained in {policy.seconds:.0f} s on {policy.trained_on['decisions']:,} expert decisions "
                      f"({policy.trained_on['episodes']:,} episodes of {policy.trained_on['orders']:,} orders)",
                      highlight=False)
    console.out.print(f"saved {len(paths)} files to {out_dir}/ — use it with --param checkpoint={out_dir}")
    return 0


def _train_lem(args: argparse.Namespace) -> int:
    """``execbench train lem``: train a LEM and write its checkpoint."""
    from execbench.data import load_bars
    from execbench.lem import keras_backend, save_checkpoint, train_lem, training_params
    from execbench.orders import make_split
    from execbench.reporting.run_folder import staged_folder

    keras_backend()
    if str(args.asset).lower().startswith("synthetic:") and args.freq and "," in args.freq:
        raise ParameterError("--freq: a synthetic market has one frequency")
    params, market, _ = _namespaces(args)
    _check_out(args)
    architecture, training = training_params(args.config, horizon=args.horizon, epochs=args.epochs, params=params)
    freqs = [f.strip() for f in args.freq.split(",") if f.strip()] if args.freq else [None]
    datasets = []
    for freq in freqs:
        with console.out.status(f"loading {args.asset} {freq or ''}"):
            datasets.append(load_bars(args.asset, freq, synthetic=market))
    split = make_split(datasets[0], args.test_start, args.val_start, args.test_end)
    validation = split.validation
    names = " + ".join(f"{d.attrs.get('asset')} {d.attrs.get('freq')}" for d in datasets)
    console.out.print(f"training lem ({args.config}) on {names}, bars before {split.train_end.date()}; validation "
                      f"{'none' if validation is None else f'{validation[0].date()} to {validation[1].date()}'}")
    with console.progress() as bar:
        task = bar.add_task("training (the first epoch includes compilation)", total=training["epochs"])
        report = _epoch_printer(bar, task)
        trained = train_lem(datasets, architecture, training, end=split.train_end, validation=validation,
                            on_epoch=lambda epoch, logs: report("lem", epoch, logs))
    label = "-".join(str(trained.trained_on["asset"]).split(",")) + "-" + "-".join(str(trained.trained_on["freq"]).split(","))
    out_dir = _out_dir(args, label, "lem-checkpoint")
    with staged_folder(out_dir, overwrite=args.overwrite) as stage:
        paths = save_checkpoint(trained, stage, extra={"command": _command_line()})
    console.out.print(f"trained {len(trained.history.get('loss', []))} epochs on {trained.trained_on['samples']:,} "
                      f"windows in {trained.training_seconds:.0f} s", highlight=False)
    console.out.print(f"saved {len(paths)} files to {out_dir}/ — use it with --param checkpoint={out_dir}")
    return 0


def meta_report(args: argparse.Namespace) -> int:
    """``execbench meta-report``: what the meta-strategy picked on the test orders, by regime, and its score."""
    from execbench.pipeline.meta import meta_test_breakdown
    from execbench.reporting.run_folder import staged_folder
    from execbench.strategy import load_strategy

    params, market, _ = _namespaces(args)
    _check_out(args)
    meta = load_strategy("meta", **params)
    bars, split = _load(args, market)
    labels = [s.strip() for s in args.scenarios.split(",")] if args.scenarios else None
    with console.out.status("replaying the candidates on the test orders") as status:
        table = meta_test_breakdown(meta, bars, split, horizon=args.horizon, labels=labels,
                                    on_stage=lambda text: status.update(text))
    console.print_frame(table, f"meta-strategy on {bars.attrs.get('asset')} {bars.attrs.get('freq')}, test orders from "
                               f"{split.test_start.date()}: mean perf_bps (positive = better) and share of picks")
    out_dir = _out_dir(args, str(bars.attrs.get("asset")), "meta-report")
    with staged_folder(out_dir, overwrite=args.overwrite) as stage:
        table.to_csv(stage / "meta_breakdown.csv", index=False)
    console.out.print(f"saved meta_breakdown.csv to {out_dir}/")
    return 0


def lem_alignment(args: argparse.Namespace) -> int:
    """``execbench lem-alignment``: the causal-vs-upstream alignment experiment (``execbench.lem.alignment``)."""
    from execbench.lem import alignment_experiment, keras_backend
    from execbench.reporting.run_folder import save_comparison
    from execbench.results import SIGN_CONVENTION

    keras_backend()
    started = time.perf_counter()
    params, market, impact = _namespaces(args)
    _check_out(args)
    bars, split = _load(args, market)
    periods = _periods(args.periods, args.horizon)
    with console.progress() as bar:
        task = bar.add_task("training (the first epoch includes compilation)", total=None)
        result = alignment_experiment(
            bars, split, config=args.config, epochs=args.epochs, params=params, horizon=args.horizon,
            order_size=args.order_size, impact=impact, periods=periods, benchmark=args.benchmark, target=args.target,
            audit=not args.no_audit, audit_orders=args.audit_orders, seed=args.seed,
            on_stage=lambda text: bar.update(task, description=text), on_epoch=_epoch_printer(bar, task),
            on_windows=lambda w: bar.update(task, completed=0, total=len(w) * 3), progress=lambda k: bar.advance(task, k))
    for evaluation in result.comparison.values():
        console.print_audit(evaluation.audit, evaluation.warnings)
    first = next(iter(result.comparison.values()))
    console.print_frame(result.table, f"causal vs upstream alignment, same LEM and seed, on {first.asset} {first.freq}, "
                                      f"T={args.horizon}: mean bps vs {args.benchmark.upper()} ({args.target} target), "
                                      f"same test orders")
    why = (" The upstream-aligned model was trained to see each bar it trades; fed causally, its per-bar decisions "
           "no longer add up, so it is refused." if result.refused else "")
    console.out.print(f"{SIGN_CONVENTION}.{why}")
    out_dir = _out_dir(args, first.asset, "lem-alignment")
    extra = {"command": _command_line(), "seed": args.seed,
             "training": {k: {"history": m.history, "trained_on": m.trained_on,
                              "params": {**m.architecture, **m.training}} for k, m in result.models.items()}}
    paths = save_comparison(result.comparison, out_dir, periods=periods, benchmark=args.benchmark,
                            target=args.target, extra=extra, overwrite=args.overwrite,
                            tables={"alignment": (result.table, "LEM, causal vs upstream alignment (same seed)")})
    console.out.print(f"{first.result.n_orders:,} orders; {time.perf_counter() - started:.0f} s; saved "
                      f"{len(paths)} files to {out_dir}/")
    return 0


def report(args: argparse.Namespace) -> int:
    """``execbench report``: the PDF report of a saved run or comparison folder."""
    _report(Path(args.run_dir), args.seed)
    return 0


def assets(args: argparse.Namespace) -> int:
    """``execbench assets``: the bundled data."""
    from rich.table import Table

    from execbench.data.bundled import bundled_assets

    table = Table(title="Bundled data (load by name; coarser frequencies are built by summing bars)")
    table.add_column("asset")
    table.add_column("native frequencies")
    for name, freqs in sorted(bundled_assets().items()):
        table.add_row(name, ", ".join(freqs))
    console.out.print(table)
    return 0


def strategies(args: argparse.Namespace) -> int:
    """``execbench strategies``: registered strategies with their parameters and defaults."""
    from rich.table import Table

    from execbench.strategy.registry import available_strategies

    table = Table(title="Registered strategies (entry-point group execbench.strategies)")
    for column in ("name", "mode", "parameters", "description", "from"):
        table.add_column(column)
    for name, entry in sorted(available_strategies().items()):
        cls = entry.load()
        params = ", ".join(f"{k}={v!r}" for k, v in cls.param_defaults().items()) or "-"
        table.add_row(name, cls.mode, params, cls.description, entry.value)
    console.out.print(table)
    return 0


def _param_grid(items: list[str] | None) -> dict[str, list[Any]]:
    from execbench.params import parse_params

    grid: dict[str, list[Any]] = {}
    for item in items or []:
        name, sep, values = item.partition("=")
        if not sep or not values.strip():
            raise ParameterError(f"--param-grid {item!r}: expected name=v1,v2,...")
        grid[name.strip()] = [parse_params([f"{name.strip()}={v.strip()}"], "--param-grid")[name.strip()]
                              for v in values.split(",") if v.strip()]
    return grid


def sweep(args: argparse.Namespace) -> int:
    """``execbench sweep``: the grid on Dask, one task per cell, resumable; prints the dashboard link,
    a progress bar of cells done / skipped / failed with an ETA, and where the dataset is."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from execbench.reporting.run_folder import default_out_dir
    from execbench.sweep import SweepOptions
    from execbench.sweep import sweep as run_sweep

    strategies = _list(args.strategies, "--strategies")
    assets = _list(args.assets, "--assets")
    if not strategies or not assets:
        raise ParameterError("--strategies and --assets: expected at least one name each")
    options = SweepOptions(test_start=args.test_start, val_start=args.val_start, test_end=args.test_end,
                           order_size=args.order_size, audit=not args.no_audit, audit_orders=args.audit_orders,
                           reps=args.reps, per_order=args.per_order)
    out = Path(args.out) if args.out else default_out_dir(assets[0], "sweep")
    console.out.print(f"sweep folder: {out} (rerun with --out {out} to resume)", highlight=False)
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    failures: list[str] = []
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console.out, transient=True) as bar:
        task = bar.add_task("starting the Dask cluster", total=None)

        def started(info: dict) -> None:
            console.out.print(f"{info['cells']} cells ({info['done']} finished earlier, {info['todo']} to run) on "
                              f"{info['workers']} Dask workers; dashboard: {info['dashboard']}", highlight=False)
            bar.update(task, total=info["todo"], description="cells")

        def finished(status: dict) -> None:
            counts[status["status"]] += 1
            if status["status"] == "failed":
                failures.append(f"{status['label']}: {status['error']}")
                console.err.print(f"[red]failed:[/] {status['label']}: {status['error']}", highlight=False)
            bar.update(task, advance=1, description=f"done {counts['ok']} · skipped {counts['skipped']} · "
                                                    f"failed {counts['failed']}")
        try:
            rows = run_sweep(strategies, assets, out=out, freqs=_list(args.freqs, "--freqs") or None,
                             horizons=_list(args.horizons, "--horizons", int), param_grid=_param_grid(args.param_grid),
                             seeds=_list(args.seeds, "--seeds", int), options=options, workers=args.workers,
                             threads_per_worker=args.threads_per_worker, scheduler=args.scheduler, on_start=started,
                             on_cell=finished, command=_command_line())
        except KeyboardInterrupt:
            bar.stop()
            console.err.print(f"[yellow]interrupted:[/] {counts['ok'] + counts['skipped']} cells finished in this run are "
                              f"kept in {out}; rerun with --out {out} to go on", highlight=False)
            return 130
    status = rows.drop_duplicates("cell")["status"].value_counts() if len(rows) else {}
    console.out.print(f"this run: {counts['ok']} evaluated, {counts['skipped']} skipped, {counts['failed']} failed; "
                      f"the folder holds {int(status.get('ok', 0))} evaluated, {int(status.get('skipped', 0))} skipped "
                      f"and {int(status.get('failed', 0))} failed cells", highlight=False)
    for reason in rows.loc[rows["status"] == "skipped"].drop_duplicates("cell").itertuples() if len(rows) else []:
        console.out.print(f"  skipped {reason.strategy} on {reason.asset} {reason.freq}: {reason.reason}",
                          highlight=False)
    console.out.print(f"dataset: {out}/cells (Parquet, by asset/freq); summary: execbench sweep-summary {out}")
    return 1 if counts["failed"] else 0


def sweep_summary(args: argparse.Namespace) -> int:
    """``execbench sweep-summary``: the paper's table per frequency and the seeds view of a sweep folder."""
    from execbench.sweep import load_sweep
    from execbench.sweep.summary import frequency_overview, paper_tables, seeds_view

    folder = Path(args.folder)
    if not (folder / "sweep.json").is_file():
        raise DataError(f"{folder}: not a sweep folder (no sweep.json)")
    rows = load_sweep(folder)
    ok = rows[rows["status"] == "ok"] if len(rows) else rows
    if not len(ok):
        raise DataError(f"{folder}: no finished cell yet")
    asset = args.asset or str(ok["asset"].iloc[0])
    horizon = args.horizon or int(ok["horizon"].iloc[0])
    if ok["asset"].nunique() > 1 and not args.asset:
        console.out.print(f"paper tables for {asset} (--asset picks another of {', '.join(sorted(ok['asset'].unique()))})",
                          highlight=False)
    for freq, table in paper_tables(rows, asset=asset, horizon=horizon).items():
        console.print_frame(table, f"{asset} {freq}, T={horizon}: bps vs VWAP (quantity target), paper sign; "
                                   "mean over seeds")
    console.print_frame(frequency_overview(rows, horizon=horizon), f"every asset and frequency, T={horizon}: mean bps "
                        "vs VWAP (quantity target), paper sign: TWAP against the full-horizon VWAP, each strategy at m=1")
    seeds = seeds_view(rows)
    if (seeds["seeds"] > 1).any():
        shown = seeds[seeds["scenario"].str.contains("vwap-quantity-(?:m1|match)$")]
        console.print_frame(shown, "seeds: mean perf_bps over seeds, spread (max − min) and the mean 95 % CI across orders")
    failed = rows[rows["status"] == "failed"] if len(rows) else rows
    for row in failed.itertuples():
        console.out.print(f"failed: {row.strategy} on {row.asset} {row.freq}: {row.reason}", highlight=False)
    leaked = ok[ok["audit"].astype(str).str.startswith("FAILED")].drop_duplicates("cell") if "audit" in ok else ok[:0]
    for row in leaked.itertuples():
        console.err.print(f"[red]left out, look-ahead audit {row.audit}:[/] {row.strategy} on {row.asset} {row.freq}",
                          highlight=False)
    return 0


def _roots(folders: list[str] | None) -> list[str]:
    roots = folders or ["reports"]
    for root in roots:
        if not Path(root).is_dir():
            hint = " (run from the folder that holds reports/, or name folders)" if root == "reports" else ""
            raise ParameterError(f"{root}: no such folder{hint}")
    return roots


def dashboard(args: argparse.Namespace) -> int:
    """``execbench dashboard``: start the Streamlit app over saved folders; stop with Ctrl-C."""
    import subprocess

    from execbench.dashboard.launch import dashboard_command

    command, env, url = dashboard_command(_roots(args.folders), args.host, args.port)
    console.out.print(f"execbench dashboard over {', '.join(_roots(args.folders))}: {url}  (Ctrl-C stops it)",
                      highlight=False)
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=10)
        return 0


def ask(args: argparse.Namespace) -> int:
    """``execbench ask``: answer a question from saved folders; print the answer, its table and the commands."""
    from execbench.explore import answer, discover

    found = discover(_roots(args.folders))
    reply = answer(args.question, found)
    console.out.print(reply.text, highlight=False, soft_wrap=True, markup=False)
    if len(reply.table):
        console.print_frame(reply.table.head(40), reply.folder or "")
    if reply.command:
        console.out.print(f"creates the folder: {reply.command}", highlight=False, soft_wrap=True, markup=False)
    if reply.code:
        console.out.print("reads the numbers back:\n" + textwrap.indent(reply.code, "    "), highlight=False,
                          soft_wrap=True, markup=False)
    if args.plot:
        if reply.chart is None or not len(reply.table):
            raise ParameterError("--plot: this answer has no chart")
        from execbench.explore.figures import bar_figure  # imports plotly when it draws

        x, y, colour = reply.chart
        try:
            bar_figure(reply.table, x, y, colour, f"{y} — {reply.folder}").write_html(args.plot)
        except ImportError:
            raise ParameterError("--plot needs plotly: pip install 'execbench[dashboard]'") from None
        console.out.print(f"chart: {args.plot}", highlight=False)
    return 0 if reply.answered else 1
