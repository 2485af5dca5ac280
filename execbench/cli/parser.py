"""The commands and their options (argparse only: building the parser imports neither the library nor
rich; each sub-command names its function in ``commands.py``, which ``main`` imports when a command runs)."""

from __future__ import annotations

import argparse

# duplicated from the library on purpose (a test holds them equal): importing the library's
# modules would cost the --help answer its speed
BENCHMARKS = ("vwap", "twap")
TARGETS = ("quantity", "notional")
DEFAULT_ORDER_SIZE = 0.01
AUDIT_ORDERS = 500  # execbench.pipeline.audit.AUDIT_ORDERS (not imported: --help stays light)


def _params(parser: argparse.ArgumentParser, *, strategy: str | None = None, market: bool = True,
            impact: bool = False) -> None:
    """The parameter namespaces a command takes: each validated by its own consumer."""
    if strategy:
        parser.add_argument("--param", action="append", metavar="NAME=VALUE", help=strategy + " (repeatable)")
    if market:
        parser.add_argument("--market-param", action="append", metavar="NAME=VALUE",
                            help="synthetic-market parameter for --asset synthetic:heston, e.g. kappa=200, "
                                 "bars=50000, seed=1 (repeatable)")
    if impact:
        parser.add_argument("--impact-param", action="append", metavar="NAME=VALUE",
                            help="market impact: eps (temporary, eps*nu^beta), beta, gamma (permanent, "
                                 "gamma*(X/W)^delta), delta, benchmark_with_impact (repeatable)")


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--asset", default="BTCUSDT", help="bundled asset, universe (dow30, crypto5) or a file/folder")
    parser.add_argument("--freq", default=None, help="bar frequency, e.g. 15m, 90m, 1h, 1d (default: finest available)")
    parser.add_argument("--horizon", type=int, default=12, help="maximum horizon T in bars (default 12)")
    parser.add_argument("--test-start", default=None, help="first order origin date of the test period (UTC)")
    parser.add_argument("--val-start", default=None, help="start of the validation period; fitting uses bars before it")
    parser.add_argument("--test-end", default=None, help="end (exclusive) of the test period")
    parser.add_argument("--seed", type=int, default=0, help="seeds the audit's order sample and perturbations")


def _eval_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--order-size", type=float, default=DEFAULT_ORDER_SIZE,
                        help="order size as a fraction of the expected window volume, > 0 (default 0.01); it sets each "
                             "order's quantity, so participation, capped scenarios, impact and POV depend on it")
    parser.add_argument("--benchmark", choices=BENCHMARKS, default="vwap", help="benchmark of the printed table")
    parser.add_argument("--target", choices=TARGETS, default="quantity", help="target of the printed table")
    parser.add_argument("--no-audit", action="store_true", help="skip the look-ahead audit")
    parser.add_argument("--audit-orders", type=int, default=AUDIT_ORDERS,
                        help=f"at least this many orders audited, in whole strategy calls spread over the test period "
                             f"(default {AUDIT_ORDERS}: a leak on 1%% of orders is caught with probability 99.3%%)")
    _out_args(parser)
    parser.add_argument("--report", action="store_true", help="also write the PDF report into the output folder")


def _out_args(parser: argparse.ArgumentParser, what: str = "output folder") -> None:
    parser.add_argument("--out", default=None, help=f"{what} (default under reports/); written whole or not at all")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it already holds files")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive whole number")
    return value


def _model_args(parser: argparse.ArgumentParser, epochs: int | None, epochs_help: str) -> None:
    parser.add_argument("--config", default="tiny", help="size preset: tiny, small or paper")
    parser.add_argument("--epochs", type=int, default=epochs, help=epochs_help)
    _params(parser, strategy="model parameter, e.g. hidden=32 or max_samples=8192")


def build_parser() -> argparse.ArgumentParser:
    """The ``execbench`` argument parser: one sub-command per task."""
    parser = argparse.ArgumentParser(prog="execbench", description="Evaluate trade-execution strategies.")
    parser.add_argument("--debug", action="store_true", help="on an error, also print the traceback behind it")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="fit, audit and evaluate a strategy on the test period; save its tables")
    run.add_argument("--strategy", default="twap", help="registered name or FILE.py[:Class] (default twap)")
    _params(run, strategy="strategy parameter", impact=True)
    run.add_argument("--state", default=None, help="load a fitted strategy saved with --save-state (no fitting)")
    run.add_argument("--save-state", default=None, help="save the fitted strategy (parameters + state) to this JSON")
    run.add_argument("--by", default=None, help="breakdown tables: comma-separated regime, asset, year")
    _data_args(run)
    _eval_args(run)
    run.set_defaults(run="run")

    comp = sub.add_parser("compare", help="fit, audit and evaluate several strategies on the same orders")
    comp.add_argument("--strategies", default="twap,vwap,dvwap,pov,ac,flex", help="comma-separated names")
    comp.add_argument("--periods", default=None, help="minimum periods shown, e.g. 1,6,12,match (default 1,T/2,T,match)")
    comp.add_argument("--by", default=None, help="paired tests against TWAP within each group: comma-separated regime, "
                                                "asset, year (paired_by_<key> tables)")
    _params(comp, impact=True)
    _data_args(comp)
    _eval_args(comp)
    comp.set_defaults(run="compare")

    aud = sub.add_parser("audit", help="look-ahead audit of a strategy (exit status 1 if it leaks)")
    aud.add_argument("--strategy", default="twap", help="registered name or FILE.py[:Class]")
    _params(aud, strategy="strategy parameter")
    aud.add_argument("--state", default=None, help="audit a fitted strategy saved with --save-state")
    aud.add_argument("--orders", type=int, default=AUDIT_ORDERS,
                     help=f"at least this many orders audited, in whole strategy calls spread over the test period "
                          f"(default {AUDIT_ORDERS})")
    _data_args(aud)
    aud.set_defaults(run="audit")

    sim = sub.add_parser("simulate", help="write synthetic Heston bars (the format of the bundled data)")
    sim.add_argument("--out", required=True, help="output .parquet or .csv")
    sim.add_argument("--freq", default="15m", help="bar frequency (default 15m)")
    _params(sim)
    sim.set_defaults(run="simulate")

    fr = sub.add_parser("frontier", help="Almgren-Chriss efficient frontier under market impact, vs TWAP "
                                         "(default: a simulated market where the closed form holds, eps=0.01, "
                                         "beta=1)")
    fr.add_argument("--risk-aversions", default="0,10,30,100,300,1000", help="comma-separated lambda values")
    _params(fr, impact=True)
    fr.add_argument("--order-size", type=float, default=0.1, help="order size, fraction of window volume (default 0.1)")
    fr.add_argument("--ppo", action="store_true", help="also train a PPO agent for each risk aversion on the same "
                                                      "market, contract, impact and objective, and replay it beside AC")
    fr.add_argument("--ppo-param", action="append", metavar="NAME=VALUE",
                    help="PPO training parameter with --ppo, e.g. iterations=300, episodes=1024, seed=0 (repeatable)")
    _out_args(fr)
    _data_args(fr)
    fr.set_defaults(run="frontier", asset="synthetic:heston")

    cc = sub.add_parser("cost-curve", help="implementation shortfall of a strategy against order size, with impact")
    cc.add_argument("--strategy", default="twap", help="registered name or FILE.py[:Class]")
    cc.add_argument("--sizes", default="0.005,0.01,0.02,0.05,0.1,0.2,0.5", help="order sizes (fraction of window volume)")
    _params(cc, strategy="strategy parameter", impact=True)
    _out_args(cc)
    _data_args(cc)
    cc.set_defaults(run="cost_curve")

    ov = sub.add_parser("option-value", help="what the flexible window alone is worth: the zero-information stopping "
                                             "policy (optstop) under its fitted model and on the test period")
    ov.add_argument("--periods", default=None, help="minimum periods shown, e.g. 1,3,6 (default 1..T)")
    ov.add_argument("--no-audit", action="store_true", help="skip the look-ahead audit of optstop")
    _out_args(ov)
    _data_args(ov)
    ov.set_defaults(run="option_value")

    tr = sub.add_parser("train", help="train a model (lem, ppo, flow, meta) and write its checkpoint with its config")
    tr.add_argument("model", help="lem (the Large Execution Model), ppo (PPO in the JAX execution environment; "
                                  "--seed seeds it, --param iterations=N, episodes=N, hidden=N, learning_rate=X), "
                                  "flow (the flow-matching policy over expert strategies; --param experts=a,b:param=v,... "
                                  "iterations=N refine_iterations=N steps=1|2 every=N) "
                                  "or meta (the meta-strategy's selector; --param candidates=a,b,... every=N)")
    _model_args(tr, None, "maximum epochs (default 6, paper 30; early stopping on the validation period)")
    _out_args(tr, "checkpoint folder")
    _data_args(tr)
    tr.set_defaults(run="train")

    mr = sub.add_parser("meta-report", help="the meta-strategy on the test period: its picks by regime, its score "
                                            "against each candidate and against the best single one in hindsight")
    _params(mr, strategy="meta parameter, e.g. checkpoint=DIR")
    mr.add_argument("--scenarios", default=None, help="comma-separated scenario labels (default buy/sell VWAP "
                                                      "quantity at m = 1 and T/2)")
    _out_args(mr)
    _data_args(mr)
    mr.set_defaults(run="meta_report")

    sw = sub.add_parser("sweep", help="a grid of strategies x assets x frequencies x horizons x parameters x seeds "
                                      "on Dask (a LocalCluster by default): resumable, one task per cell")
    sw.add_argument("--strategies", required=True, help="comma-separated strategy names")
    sw.add_argument("--assets", default="BTCUSDT", help="comma-separated bundled assets or universes")
    sw.add_argument("--freqs", default=None, help="comma-separated bar frequencies (default: each asset's finest)")
    sw.add_argument("--horizons", default="12", help="comma-separated horizons T in bars (default 12)")
    sw.add_argument("--param-grid", action="append", metavar="NAME=V1,V2",
                    help="a strategy parameter's values (repeatable; applies to the strategies that take it)")
    sw.add_argument("--seeds", default="0", help="comma-separated seeds (strategies with a seed parameter get it; "
                                                 "every cell's audit and bootstrap use it)")
    sw.add_argument("--workers", type=_positive_int, default=None, help="LocalCluster workers (default: one per core)")
    sw.add_argument("--threads-per-worker", type=_positive_int, default=1, help="threads per LocalCluster worker (default 1)")
    sw.add_argument("--scheduler", default=None, help="an existing Dask scheduler, tcp://HOST:8786 (default: "
                                                      "DASK_SCHEDULER_ADDRESS, else a LocalCluster)")
    sw.add_argument("--per-order", action="store_true", help="also write every cell's per-order results (by the workers)")
    sw.add_argument("--reps", type=int, default=400, help="bootstrap resamples of each CI (default 400)")
    sw.add_argument("--order-size", type=float, default=DEFAULT_ORDER_SIZE, help="order size, fraction of the "
                                                                               "expected window volume (default 0.01)")
    sw.add_argument("--no-audit", action="store_true", help="skip the look-ahead audit in every cell")
    sw.add_argument("--audit-orders", type=int, default=AUDIT_ORDERS, help=f"orders audited per cell (default {AUDIT_ORDERS})")
    sw.add_argument("--out", default=None, help="sweep folder (default under reports/); rerunning into it skips "
                                                "finished cells")
    for name, text in (("--test-start", "first order origin date of the test period (UTC)"),
                       ("--val-start", "start of the validation period; fitting uses bars before it"),
                       ("--test-end", "end (exclusive) of the test period")):
        sw.add_argument(name, default=None, help=text)
    sw.set_defaults(run="sweep")

    ss = sub.add_parser("sweep-summary", help="a sweep folder as the paper's tables, one per frequency, and the "
                                              "seeds view (mean and spread across seeds next to the CI across orders)")
    ss.add_argument("folder", help="the sweep folder")
    ss.add_argument("--asset", default=None, help="the asset of the paper tables (default: the sweep's first)")
    ss.add_argument("--horizon", type=int, default=None, help="the horizon of the paper tables (default: the first)")
    ss.set_defaults(run="sweep_summary")

    al = sub.add_parser("lem-alignment", help="train the LEM with the causal and with the upstream lems alignment "
                                              "(same seed), audit both and compare them with TWAP on the test orders")
    _model_args(al, 3, "maximum epochs of each training (default 3)")
    al.add_argument("--periods", default=None, help="minimum periods shown, e.g. 1,6,match (default 1,T/2,T,match)")
    al.add_argument("--impact-param", action="append", metavar="NAME=VALUE", help="market impact (repeatable)")
    _data_args(al)
    _eval_args(al)
    al.set_defaults(run="lem_alignment")

    rep = sub.add_parser("report", help="write report.pdf (and figures/) for a run or comparison folder")
    rep.add_argument("run_dir", help="folder written by execbench run or execbench compare")
    rep.add_argument("--seed", type=int, default=0, help="seeds the bootstrap")
    rep.set_defaults(run="report")

    db = sub.add_parser("dashboard", help="a local web app over saved runs, comparisons and sweeps (needs the "
                                          "dashboard extra): browse, compare, drill into sweeps, start runs, ask")
    db.add_argument("folders", nargs="*", default=None, metavar="FOLDER",
                    help="folders to show (each may hold many saved folders; default: reports/)")
    db.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    db.add_argument("--port", type=int, default=0, help="port (default: a free one, printed with the URL)")
    db.set_defaults(run="dashboard")

    ask = sub.add_parser("ask", help='a plain-English question about saved results, e.g. "which strategy had the '
                                     'lowest risk for sells on ETH?"; answered from the folders\' tables')
    ask.add_argument("question", help="the question (quote it)")
    ask.add_argument("--in", dest="folders", action="append", metavar="FOLDER",
                     help="where to look (repeatable; default: reports/)")
    ask.add_argument("--plot", default=None, metavar="FILE.html", help="also write the answer's chart (Plotly HTML)")
    ask.set_defaults(run="ask")

    assets = sub.add_parser("assets", help="list the bundled data")
    assets.set_defaults(run="assets")
    strategies = sub.add_parser("strategies", help="list registered strategies with their parameters")
    strategies.set_defaults(run="strategies")
    return parser
