"""Check benchmarks/_torch_models.py against a real torchvision, where one can be imported.

    python benchmarks/check_models.py

For resnet18, resnet50, googlenet (aux_logits=False), vgg16 and mobilenet_v2: the same
module tree (qualified names and classes), the same parameter and buffer shapes, the same
output shape, and the same count from every peer (which also depends on how forward calls
each op). Exit 0 when all agree, 1 on a difference, 2 when torchvision cannot be imported.

torchvision has no CPU build for the torch used here. A CUDA build of the matching release
(0.28 for torch 2.13) imports on a CPU-only torch once its C++ operator registrations, which
only the detection ops need, are skipped; this script does that (it stubs
``torchvision._meta_registrations``) when a plain import fails. The models are pure Python.
"""

from __future__ import annotations

import sys
import types
import warnings

import _peer_count as P
import _torch_models as tm
import torch


def import_torchvision():
    try:
        import torchvision.models as tvm

        return tvm
    except Exception:  # noqa: BLE001 - an extension that does not load
        for name in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType(
            "torchvision._meta_registrations")
        try:
            import torchvision.models as tvm

            return tvm
        except Exception as err:  # noqa: BLE001
            print(f"torchvision cannot be imported: {err}", file=sys.stderr)
            return None


def tree(model):
    mods = [(n, type(m).__name__) for n, m in model.named_modules()]
    params = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    bufs = [(n, tuple(b.shape)) for n, b in model.named_buffers()]
    return mods, params, bufs


def main() -> int:
    warnings.simplefilter("ignore")
    tvm = import_torchvision()
    if tvm is None:
        return 2
    import torchvision

    print(f"torchvision {torchvision.__version__}, torch {torch.__version__}")
    ours = {"resnet18": tm.resnet18, "resnet50": tm.resnet50, "googlenet": tm.googlenet,
            "vgg16": tm.vgg16, "mobilenet_v2": tm.mobilenet_v2}  # fmt: skip
    theirs = {"resnet18": lambda: tvm.resnet18(), "resnet50": lambda: tvm.resnet50(),
              "googlenet": lambda: tvm.googlenet(aux_logits=False, init_weights=True),
              "vgg16": lambda: tvm.vgg16(), "mobilenet_v2": lambda: tvm.mobilenet_v2()}  # fmt: skip
    ok = True
    for name in ours:
        a, b = ours[name]().eval(), theirs[name]().eval()
        (ma, pa, ba), (mb, pb, bb) = tree(a), tree(b)
        same_tree = ma == mb and pa == pb and ba == bb
        x = torch.zeros(1, 3, 224, 224)
        with torch.no_grad():
            same_out = a(x).shape == b(x).shape
        counts = {}
        for peer in P.PEERS:
            ca, cb = P.count(peer, ours[name]().eval(), (3, 224, 224)), \
                P.count(peer, theirs[name]().eval(), (3, 224, 224))  # fmt: skip
            counts[peer] = (ca == cb, cb["count"])
        same_counts = all(v[0] for v in counts.values())
        ok &= same_tree and same_out and same_counts
        detail = ", ".join(f"{p} {'=' if v[0] else '!='} {v[1]:,}" for p, v in counts.items())
        print(f"{name}: modules/params/buffers {'same' if same_tree else 'DIFFER'}, output "
              f"{'same' if same_out else 'DIFFERS'}; peers: {detail}")  # fmt: skip
        if not same_tree:
            for i, (x1, x2) in enumerate(zip(ma, mb, strict=False)):
                if x1 != x2:
                    print(f"  first module difference at {i}: {x1} vs {x2}")
                    break
    print("all equal" if ok else "DIFFERENCES")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
