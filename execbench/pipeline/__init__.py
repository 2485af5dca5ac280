"""Stage 8, pipeline: fit → look-ahead audit → replay → results, for one strategy (``evaluate``) or
several on the same orders (``compare``), and the experiments built on it (efficient frontier, cost
curve, the value of the flexible window's option)."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "audit": ["AUDIT_ORDERS", "AUDIT_TOLERANCE", "INPUTS", "AuditReport", "StepCheck", "audit_calls", "audit_strategy",
              "audit_windows"],
    "evaluation": ["Comparison", "Evaluation", "compare", "curve_scenarios", "evaluate", "replay_strategy"],
    "frontier": ["FRONTIER_IMPACT", "FRONTIER_MARKET", "cost_curve", "efficient_frontier", "theory"],
    "option": ["OptionValue", "option_value"],
})
