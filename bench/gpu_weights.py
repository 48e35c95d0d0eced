"""Writes full-size ResNet-152 and ResNeXt-101 3D safetensors for timing quern-features
where the real weights cannot be carried (a device call carries 64 MiB; ResNet-152 alone
is 230 MB in f32): every tensor the engine checks (kernels/kn_arch.c), with the golden
fixtures' seeded values (kernels/tools/golden_gen.py, the same ranges as
tests/test_features_e2e.py), as float16. Speed does not depend on the values; these keep
the activations finite. Numpy only.

    python3 bench/gpu_weights.py OUT_DIR   -> OUT_DIR/resnet152.safetensors (~120 MB),
                                              OUT_DIR/resnext101.safetensors (~95 MB)
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernels", "tools"))
from golden_gen import gen_uniform  # noqa: E402


def tensors(arch):
    """(name, shape) of every weight of `arch`, in kn_arch.c's order."""
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


def value_range(name, shape):
    if len(shape) >= 4:  # conv: variance 1/fan_in
        a = float(np.sqrt(3.0 * shape[0] / np.prod(shape)))
        return -a, a
    if name.endswith(".running_var"):
        return 0.5, 1.5
    if name.endswith(".weight"):
        return 0.25, 0.75
    return -0.1, 0.1


def write(path, arch, seed=7):
    header, off = {}, 0
    entries = tensors(arch)
    for name, shape in entries:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for name, shape in entries:
            lo, hi = value_range(name, shape)
            f.write(gen_uniform(name, seed, lo, hi, int(np.prod(shape))).astype("<f2").tobytes())
    os.replace(tmp, path)  # never a partial file under the final name


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 bench/gpu_weights.py OUT_DIR")
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "resnet152.safetensors"), "resnet152")
    write(os.path.join(d, "resnext101.safetensors"), "resnext101-3d")


if __name__ == "__main__":
    main()
