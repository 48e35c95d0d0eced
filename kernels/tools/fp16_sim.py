#!/usr/bin/python3
"""fp16_sim.py — what the cuda backend's fp16 arithmetic should cost in accuracy.

Emulates the CUDA path on the CPU with torch: BN folded in double, folded
weights and every stored activation rounded to fp16, fp32 accumulation inside
the convolutions, the residual blended before bias and ReLU; compares each
stage with the fp32 nets of make_fixtures.py on the golden cases. The
maximum relative errors it prints (≈ 3e-3 at worst, cosine ≥ 0.999999 with
torch 1.13) justify the fp16 tolerances of tests/check_kernels_golden.c
(1e-2, cosine 0.999).

    /usr/bin/python3 kernels/tools/fp16_sim.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import CASES, build, make_input  # noqa: E402
torch.set_num_threads(2)


def h(t): return t.half().float()
def fold(conv, bn):
    s = bn.weight.double() / torch.sqrt(bn.running_var.double() + 1e-5)
    w = (conv.weight.double() * s.view(-1, *[1]*(conv.weight.dim()-1))).float()
    b = (bn.bias.double() - bn.running_mean.double() * s).float()
    return h(w), b
def conv(x, c, bn, relu, res=None):
    w, b = fold(c, bn)
    f = F.conv3d if w.dim() == 5 else F.conv2d
    y = f(x, w, None, c.stride, c.padding, 1, c.groups)
    if res is not None: y = h(y + res)  # beta blend in fp32 then stored
    y = y + b.view(1, -1, *[1]*(y.dim()-2))
    if relu: y = F.relu(y)
    return h(y)
def block(blk, x):
    sc = x if blk.downsample is None else conv(x, blk.downsample[0], blk.downsample[1], False)
    y = conv(x, blk.conv1, blk.bn1, True)
    if hasattr(blk, "conv3"):
        y = conv(y, blk.conv2, blk.bn2, True)
        return conv(y, blk.conv3, blk.bn3, True, sc)
    return conv(y, blk.conv2, blk.bn2, True, sc)
for arch, seed, n, d, hh, ww in CASES:
    net = build(arch, seed)
    x = make_input(arch, seed, n, d, hh, ww)
    with torch.no_grad():
        ref = net.stages(x)
        y = conv(h(x), net.conv1, net.bn1, True)
        y = net.maxpool(y)
        outs = [y]
        for L in range(4):
            for b in getattr(net, "layer%d" % (L+1)): y = block(b, y)
            outs.append(y)
        outs.append(y.mean(dim=tuple(range(2, y.dim()))))
        for name, a, r in zip(["stem","l1","l2","l3","l4","final"], outs, ref):
            rel = (a-r).abs().max() / r.abs().max()
            cos = F.cosine_similarity(a.flatten().double(), r.flatten().double(), dim=0)
            print(arch, name, "rel %.2e cos %.6f" % (rel, cos))
