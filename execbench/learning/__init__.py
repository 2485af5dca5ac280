"""Learning agents' library: the JAX execution environment (``env``) and its gymnasium wrapper
(``gym``).  It sits at the strategy stage, like ``execbench.lem``: registered strategies build on it."""

from execbench.learning.env import EnvParams, EnvState, ExecutionEnv, Market, rollout

__all__ = ["EnvParams", "EnvState", "ExecutionEnv", "Market", "rollout"]
