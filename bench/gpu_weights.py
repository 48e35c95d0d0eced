"""Writes full-size ResNet-152 and ResNeXt-101 3D safetensors for timing quern-features
where the real weights cannot be carried (a device call carries 64 MiB; ResNet-152 alone
is 230 MB in f32): every tensor the engine checks (kernels/kn_arch.c), with the golden
fixtures' seeded values as float16 (kernels/tools/golden_gen.write_weights, which
tests/test_features_e2e.py uses too). Speed does not depend on the values; these keep
the activations finite. Numpy only.

    python3 bench/gpu_weights.py OUT_DIR   -> OUT_DIR/resnet152.safetensors (~120 MB),
                                              OUT_DIR/resnext101.safetensors (~95 MB)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernels", "tools"))
from golden_gen import write_weights  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 bench/gpu_weights.py OUT_DIR")
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    write_weights(os.path.join(d, "resnet152.safetensors"), "resnet152")
    write_weights(os.path.join(d, "resnext101.safetensors"), "resnext101-3d")


if __name__ == "__main__":
    main()
