"""The golden tests' seeded generator (kernels/kn_testgen.c), vectorised with numpy.

    key   = fnv1a32(tensor name) + seed                      (mod 2^32)
    x_i   = fmix32(i * 0x9E3779B9 + key)                     (murmur3 finaliser)
    u_i   = (x_i >> 8) / 2^24, value = lo + (hi - lo) * u_i  (float32)

Also the value ranges of the golden weights (golden_tensor), the weight list of the full-size
networks (arch_tensors, kernels/kn_arch.c's names and shapes) and a safetensors writer for
them (write_weights). Numpy only, so make_fixtures.py (with torch), the end-to-end tests and
bench/gpu_weights.py (without) share it.
"""
import json
import math
import os

import numpy as np

def fnv1a32(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def fmix32(h):
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    h = h ^ (h >> np.uint32(16))
    return h


def gen_bits(name, seed, n):
    key = np.uint32((fnv1a32(name) + seed) & 0xFFFFFFFF)
    i = np.arange(n, dtype=np.uint32)
    with np.errstate(over="ignore"):
        return fmix32(i * np.uint32(0x9E3779B9) + key)


def gen_uniform(name, seed, lo, hi, n):
    u = (gen_bits(name, seed, n) >> np.uint32(8)).astype(np.float64) * (1.0 / 16777216.0)
    return (lo + (hi - lo) * u).astype(np.float32)


def golden_range(name, shape):
    """kn_testgen.c's range for a tensor: convs variance 1/fan_in, BN around its identity."""
    if len(shape) >= 4:
        hi = math.sqrt(3.0 * shape[0] / int(np.prod(shape)))
        return -hi, hi
    if name.endswith(".running_var"):
        return 0.5, 1.5
    if name.endswith(".weight"):
        return 0.25, 0.75
    return -0.1, 0.1


def golden_tensor(name, shape, seed):
    lo, hi = golden_range(name, shape)
    return gen_uniform(name, seed, lo, hi, int(np.prod(shape))).reshape(shape)


def arch_tensors(arch):
    """(name, shape) of every weight the engine checks for "resnet152" or "resnext101-3d",
    as kernels/kn_arch.c lists them."""
    is3d = arch == "resnext101-3d"
    blocks = [3, 4, 23, 3] if is3d else [3, 8, 36, 3]
    out = []

    def conv(name, bn, cin, cout, groups, k):
        out.append((name + ".weight", [cout, cin // groups] + ([k] * 3 if is3d else [k, k])))
        out.extend((f"{bn}.{p}", [cout]) for p in ("weight", "bias", "running_mean", "running_var"))

    conv("conv1", "bn1", 3, 64, 1, 7)
    inplanes = 64
    for layer in range(4):
        planes = (128 if is3d else 64) << layer
        exp, groups = (2, 32) if is3d else (4, 1)
        for i in range(blocks[layer]):
            stride = 2 if (i == 0 and layer > 0) else 1
            p = f"layer{layer + 1}.{i}."
            conv(p + "conv1", p + "bn1", inplanes, planes, 1, 1)
            conv(p + "conv2", p + "bn2", planes, planes, groups, 3)
            conv(p + "conv3", p + "bn3", planes, planes * exp, 1, 1)
            if stride != 1 or inplanes != planes * exp:
                conv(p + "downsample.0", p + "downsample.1", inplanes, planes * exp, 1, 1)
            inplanes = planes * exp
    return out


def write_weights(path, arch, seed=7):
    """A full-size safetensors file of `arch` with the golden values as float16, written
    tensor by tensor to path + ".tmp" and renamed (never a partial file under its name)."""
    path = os.fspath(path)
    entries = arch_tensors(arch)
    header, off = {}, 0
    for name, shape in entries:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for name, shape in entries:
            f.write(golden_tensor(name, shape, seed).astype("<f2").tobytes())
    os.replace(path + ".tmp", path)
