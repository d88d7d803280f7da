"""Whole-plan consistency checks: references, the state graph, and the checker that runs them."""
