"""Count one model's params and MACs/FLOPs with one peer tool, the way its README says to.

    python benchmarks/_peer_count.py PEER MODEL [MODEL ...]     # prints JSON

PEER is one of ``PEERS``; MODEL a name from ``_torch_models.NAMES`` or ``PEER_ONLY``, or
``deep:UNITS``. This is the whole-process workload the process benchmark times against
archcost (import torch, build the model, count it), and the function :func:`count` the peer
comparison calls. Every peer runs on a model in eval mode with one 1 x 3 x 224 x 224 input
(1 x 16 x 8 x 8 for the deep stack, 1 x 1024 token ids for gpt2), as its documentation shows
(autograd as the tool leaves it).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _torch_models as tm  # noqa: E402

PEERS = ("ptflops", "ptflops-aten", "fvcore", "thop", "torchinfo", "torch")

# what each peer calls its number (the column header in peers.py)
WHAT = {
    "ptflops": "MACs (get_model_complexity_info, pytorch backend)",
    "ptflops-aten": "MACs (get_model_complexity_info, backend='aten')",
    "fvcore": "flops (FlopCountAnalysis.total(); one per multiply-add)",
    "thop": "MACs (thop.profile)",
    "torchinfo": "Total mult-adds (torchinfo.summary)",
    "torch": "FLOPs (torch.utils.flop_counter.FlopCounterMode; two per multiply-add)",
}


def model_and_input(name: str):
    if name.startswith("deep:"):
        return tm.deep(int(name.split(":", 1)[1])), (16, 8, 8)
    if name in tm.PEER_ONLY:
        return tm.PEER_ONLY[name]().eval(), tm.INPUT[name]
    return tm.build(name), tm.INPUT[name]


def _quiet():
    """Peers print banners and warnings; keep stdout for the JSON."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    return stack


def count(peer: str, model, shape) -> dict:
    """{'params': int, 'count': int} as the peer reports them for ``model`` on one input."""
    x = torch.zeros(1, *shape)
    # no torch.no_grad() around the calls: each tool runs the model as its README shows (thop
    # and torchinfo switch autograd off themselves; ptflops, fvcore and FlopCounterMode do
    # not, and under no_grad nn.MultiheadAttention takes its fused fast path, which none of
    # them counts)
    with _quiet():
        if peer in ("ptflops", "ptflops-aten"):
            from ptflops import get_model_complexity_info

            backend = "aten" if peer == "ptflops-aten" else "pytorch"
            macs, params = get_model_complexity_info(model, tuple(shape), as_strings=False,
                                                     print_per_layer_stat=False,
                                                     verbose=False, backend=backend)  # fmt: skip
            return {"params": int(params), "count": int(macs)}
        if peer == "fvcore":
            from fvcore.nn import FlopCountAnalysis, parameter_count

            flops = FlopCountAnalysis(model, x)
            flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return {"params": int(parameter_count(model)[""]), "count": int(flops.total())}
        if peer == "thop":
            from thop import profile

            ops, params = profile(model, inputs=(x,), verbose=False)
            return {"params": int(params), "count": int(ops)}
        if peer == "torchinfo":
            from torchinfo import summary

            stats = summary(model, input_size=(1, *shape), verbose=0)
            return {"params": int(stats.total_params), "count": int(stats.total_mult_adds)}
        if peer == "torch":
            from torch.utils.flop_counter import FlopCounterMode

            mode = FlopCounterMode(display=False)
            with mode:
                model(x)
            params = sum(p.numel() for p in model.parameters() if p.requires_grad)
            return {"params": int(params), "count": int(mode.get_total_flops())}
    raise ValueError(f"unknown peer {peer!r}; one of {', '.join(PEERS)}")


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    peer, names = args[0], args[1:]
    out = {}
    for name in names:
        t0 = time.perf_counter()
        model, shape = model_and_input(name)
        t1 = time.perf_counter()
        result = count(peer, model, shape)
        result["build_s"] = round(t1 - t0, 4)
        result["count_s"] = round(time.perf_counter() - t1, 4)
        out[name] = result
    json.dump({"peer": peer, "models": out}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
