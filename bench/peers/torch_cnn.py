#!/usr/bin/python3
"""torch_cnn.py — PyTorch peer for bench/features_cnn.sh and bench/gpu_check.sh.

    torch_cnn.py ARCH DEVICE BATCH H W [ITERS] [THREADS]

ARCH: resnet50 | resnet152 | resnext101-3d (the nets of kernels/tools/make_fixtures.py,
random weights: speed does not depend on them). DEVICE cpu: fp32 eager; cuda: eager,
channels_last, autocast fp16. Prints "ARCH torch-DEVICE batch B HxW: N img/s (S s per batch)".
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "kernels", "tools"))
import torch  # noqa: E402
from make_fixtures import ARCHS  # noqa: E402


def main():
    arch, dev, b, h, w = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    iters = int(sys.argv[6]) if len(sys.argv) > 6 else 3
    if len(sys.argv) > 7:
        torch.set_num_threads(int(sys.argv[7]))
    net = ARCHS[arch]().eval()
    is3d = arch.endswith("3d")
    x = torch.randn(b, 3, 16, h, w) if is3d else torch.randn(b, 3, h, w)
    if dev == "cuda":
        fmt = torch.channels_last_3d if is3d else torch.channels_last
        net = net.cuda().to(memory_format=fmt)
        x = x.cuda().to(memory_format=fmt)
    best = 1e30
    # on the GPU, eager as it comes and with cudnn.benchmark on (what a practitioner sets):
    # the peer is the faster of the two
    for bench_mode in ([False, True] if dev == "cuda" else [False]):
        torch.backends.cudnn.benchmark = bench_mode
        mode_best = 1e30
        with torch.no_grad(), torch.autocast("cuda", enabled=dev == "cuda", dtype=torch.float16):
            for i in range(iters + 1):
                if dev == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                f = net.stages(x)[-1]
                f = torch.nn.functional.normalize(f.float(), dim=1)
                if dev == "cuda":
                    torch.cuda.synchronize()
                t = time.perf_counter() - t0
                if i > 0:
                    mode_best = min(mode_best, t)
        if dev == "cuda":
            print("(cudnn.benchmark=%s: %.3f img/s)" % (bench_mode, b / mode_best))
        best = min(best, mode_best)
    print("%s torch-%s batch %d %dx%d: %.3f img/s (%.3f s per batch)" % (arch, dev, b, h, w,
                                                                        b / best, best))


if __name__ == "__main__":
    main()
