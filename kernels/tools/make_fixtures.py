#!/usr/bin/python3
"""make_fixtures.py — golden outputs of the engine's networks computed by PyTorch.

Run once with a Python that has torch (Debian: /usr/bin/python3 with python3-torch;
torchvision is NOT needed, the nets are written out below with torchvision's and
kenshohara's parameter names):

    /usr/bin/python3 kernels/tools/make_fixtures.py kernels/fixtures/golden.json

No weights are stored. Every tensor comes from a counter-based generator that
kernels/kn_testgen.c reproduces bit for bit:

    key   = fnv1a32(tensor name) + seed                      (mod 2^32)
    x_i   = fmix32(i * 0x9E3779B9 + key)                     (murmur3 finaliser)
    u_i   = (x_i >> 8) * 2^-24
    v_i   = float32(lo + (hi - lo) * u_i)                    (double, rounded once)

    conv weight          U(-a, a), a = sqrt(3 * cout / numel)   (fan-in scaled)
    bn weight            U(0.25, 0.75)
    bn bias, running_mean U(-0.1, 0.1)
    bn running_var       U(0.5, 1.5)
    input pixels (u8)    x_i >> 24 with name "input", N×D×H×W×3 order

The 3D net ends with a mean over (D,H,W) instead of AvgPool3d((1,4,4)); the two
are the same for the real 16×112×112 input, and the mean also works for the
small clips used here.

Output JSON: {"cases": [{"arch", "seed", "n", "d", "h", "w", "stages": [{"name",
"shape" (N,C,D,H,W), "sum", "sum_abs", "samples" (K values at flat NCDHW index
k*numel//K)}], "final": [n*dim floats]}]}
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_gen import gen_bits, golden_tensor  # noqa: E402  (numpy only; shared with the tests)


# ---- torchvision ResNet (names as in torchvision.models.resnet) ------------

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride, down):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = down

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, down):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = down

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet2D(nn.Module):
    def __init__(self, block, layers):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.inplanes = 64
        for i, n in enumerate(layers):
            setattr(self, "layer%d" % (i + 1), self._make(block, 64 << i, n, 1 if i == 0 else 2))

    def _make(self, block, planes, n, stride):
        down = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride,
                                           bias=False), nn.BatchNorm2d(planes * block.expansion))
        blocks = [block(self.inplanes, planes, stride, down)]
        self.inplanes = planes * block.expansion
        blocks += [block(self.inplanes, planes, 1, None) for _ in range(1, n)]
        return nn.Sequential(*blocks)

    def stages(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        out = [x]
        for i in range(4):
            x = getattr(self, "layer%d" % (i + 1))(x)
            out.append(x)
        out.append(x.mean(dim=(2, 3)))
        return out


# ---- kenshohara 2017 ResNeXt-101 3D (videocnn/models/resnext.py) -----------

class ResNeXtBottleneck(nn.Module):
    expansion = 2

    def __init__(self, inplanes, planes, cardinality, stride, down):
        super().__init__()
        mid = cardinality * int(planes / 32)
        self.conv1 = nn.Conv3d(inplanes, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(mid)
        self.conv2 = nn.Conv3d(mid, mid, 3, stride, 1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm3d(mid)
        self.conv3 = nn.Conv3d(mid, planes * 2, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * 2)
        self.downsample = down

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNeXt3D(nn.Module):
    def __init__(self, layers=(3, 4, 23, 3), cardinality=32):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 64, 7, (1, 2, 2), (3, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.maxpool = nn.MaxPool3d(3, 2, 1)
        self.inplanes = 64
        for i, n in enumerate(layers):
            planes = 128 << i
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or self.inplanes != planes * 2:  # shortcut B
                down = nn.Sequential(nn.Conv3d(self.inplanes, planes * 2, 1, stride, bias=False),
                                     nn.BatchNorm3d(planes * 2))
            blocks = [ResNeXtBottleneck(self.inplanes, planes, cardinality, stride, down)]
            self.inplanes = planes * 2
            blocks += [ResNeXtBottleneck(self.inplanes, planes, cardinality, 1, None)
                       for _ in range(1, n)]
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))

    def stages(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        out = [x]
        for i in range(4):
            x = getattr(self, "layer%d" % (i + 1))(x)
            out.append(x)
        out.append(x.mean(dim=(2, 3, 4)))
        return out


ARCHS = {
    "resnet18": lambda: ResNet2D(BasicBlock, [2, 2, 2, 2]),
    "resnet34": lambda: ResNet2D(BasicBlock, [3, 4, 6, 3]),
    "resnet50": lambda: ResNet2D(Bottleneck, [3, 4, 6, 3]),
    "resnet101": lambda: ResNet2D(Bottleneck, [3, 4, 23, 3]),
    "resnet152": lambda: ResNet2D(Bottleneck, [3, 8, 36, 3]),
    "resnext101-3d": lambda: ResNeXt3D(),
}

# arch, seed, n, d, h, w — small inputs with odd sizes (70×126 → 3×4 at layer4)
CASES = [
    ("resnet18", 1, 2, 1, 70, 126),
    ("resnet50", 2, 2, 1, 64, 96),
    ("resnet152", 3, 1, 1, 64, 64),
    ("resnext101-3d", 4, 1, 16, 32, 32),
]
SAMPLES = 512


def build(arch, seed):
    net = ARCHS[arch]().eval()
    sd = net.state_dict()
    new = {}
    for name, t in sd.items():
        if name.endswith("num_batches_tracked"):
            new[name] = t
        else:
            new[name] = torch.from_numpy(golden_tensor(name, tuple(t.shape), seed))
    net.load_state_dict(new)
    return net


def make_input(arch, seed, n, d, h, w):
    px = (gen_bits("input", seed, n * d * h * w * 3) >> np.uint32(24)).astype(np.uint8)
    x = torch.from_numpy(px.reshape(n, d, h, w, 3).astype(np.float32))
    if arch.endswith("3d"):
        x = x - torch.tensor([110.6, 103.2, 96.3], dtype=torch.float32)
        return x.permute(0, 4, 1, 2, 3).contiguous()
    x = x / 255.0
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float32)
    std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float32)
    x = (x - mean) / (std + 1e-8)
    return x[:, 0].permute(0, 3, 1, 2).contiguous()


def stage_record(name, t):
    a = t.detach().double()
    shape = list(a.shape)
    if len(shape) == 4:  # N,C,H,W -> N,C,1,H,W
        shape = shape[:2] + [1] + shape[2:]
    flat = a.reshape(-1)
    numel = flat.numel()
    k = min(SAMPLES, numel)
    idx = torch.tensor([(i * numel) // k for i in range(k)], dtype=torch.long)
    return {"name": name, "shape": shape, "sum": float(flat.sum()),
            "sum_abs": float(flat.abs().sum()),
            "samples": [float(v) for v in flat[idx].float()]}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "kernels/fixtures/golden.json"
    torch.set_num_threads(2)
    names = ["stem", "layer1", "layer2", "layer3", "layer4"]
    cases = []
    for arch, seed, n, d, h, w in CASES:
        net = build(arch, seed)
        with torch.no_grad():
            st = net.stages(make_input(arch, seed, n, d, h, w))
        rec = {"arch": arch, "seed": seed, "n": n, "d": d, "h": h, "w": w,
               "stages": [stage_record(nm, t) for nm, t in zip(names, st[:5])],
               "final": [float(v) for v in st[5].reshape(-1)]}
        cases.append(rec)
        print("%s: final[0..3] %s" % (arch, rec["final"][:3]), file=sys.stderr)
    with open(out, "w") as f:
        json.dump({"generator": "kernels/tools/make_fixtures.py", "torch": torch.__version__,
                   "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
