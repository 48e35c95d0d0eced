"""The golden tests' seeded generator (kernels/kn_testgen.c), vectorised with numpy.

    key   = fnv1a32(tensor name) + seed                      (mod 2^32)
    x_i   = fmix32(i * 0x9E3779B9 + key)                     (murmur3 finaliser)
    u_i   = (x_i >> 8) / 2^24, value = lo + (hi - lo) * u_i  (float32)

Numpy only, so make_fixtures.py (with torch) and the end-to-end tests (without) share it.
"""
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
