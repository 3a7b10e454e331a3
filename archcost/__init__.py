"""archcost: static architecture cost analysis for neural networks.

Exact per-layer parameters, multiply-accumulates and activation memory from a YAML spec
that reads like the paper's table, without importing torch. See README.md.

Python API (:mod:`archcost.api`)::

    import archcost
    net = archcost.load("googlenet")          # name, NAME:VARIANT or path; load("mobilenet", alpha=0.5)
    net.totals["macs"]                        # exact ints: params, buffers, macs, flops, ops, ...
    net.rows[0]                               # per row: id, type, shape, params, macs, ...
    print(net.to_markdown())                  # as `archcost table --format md` prints it
    net.table(), net.memory(), net.predict("h100")  # each command's JSON, from the same code
    archcost.compare("vgg16", "googlenet")      # `archcost compare ... --format json`

``archcost.import_torch(module_or_factory)`` and ``archcost.import_onnx(path)`` write a spec
from a model and load it (torch / the ``import`` extra needed then).
"""

__version__ = "0.1.0"

_API = ("load", "from_text", "compare", "import_torch", "import_onnx", "Result")
__all__ = ["__version__", *_API]


def __getattr__(name):
    # the API loads on first use, so that `import archcost` (and the CLI) stays light
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'archcost' has no attribute {name!r}")
