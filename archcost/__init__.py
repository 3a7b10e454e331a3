"""archcost: static architecture cost analysis for neural networks.

Exact per-layer parameters, multiply-accumulates and activation memory from a YAML spec
that reads like the paper's table, without importing torch. See README.md.
"""

__version__ = "0.1.0"
