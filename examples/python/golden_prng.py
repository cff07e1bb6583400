"""The portable input generator of the SwiAttn golden files, in numpy (bit-exact with the Java generator).

SplitMix64, integer-only; element n (row-major, n = 0, 1, ...) of tensor NAME of a case with seed SEED:

    tensor_seed = mix(SEED ^ fnv1a64(utf8(NAME)) + GAMMA)          (mod 2^64)
    x_n         = mix(tensor_seed + (n + 1) * GAMMA)
    u_n         = (x_n >> 11) * 2^-52 - 1                           53-bit uniform in [-1, 1), exact
    value_n     = amp * bf16(u_n)                                   round to binary32, then to bfloat16
                                                                    (both nearest-even), amp a power of two

Tensor names: "q" [B,S,Hq,D], "k" and "v" [B,S,Hkv,D], "do" [B,S,Hq,D] (the upstream gradient dO).
"""
import numpy as np

GAMMA = 0x9E3779B97F4A7C15
M64 = (1 << 64) - 1


def mix(z):
    """SplitMix64 finaliser on a np.uint64 array (arithmetic wraps mod 2^64)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def tensor_seed(case_seed, name):
    s = ((case_seed ^ fnv1a64(name)) + GAMMA) & M64
    return int(mix(np.array([s], dtype=np.uint64))[0])


def golden_at(case_seed, name, n, amp=1.0):
    """amp * bf16(uniform53) of elements n (any integer array of flat indices) of the tensor's stream."""
    seed = np.uint64(tensor_seed(case_seed, name))
    x = mix((np.asarray(n, dtype=np.uint64) + np.uint64(1)) * np.uint64(GAMMA) + seed)
    u = (x >> np.uint64(11)).astype(np.float64) * 2.0**-52 - 1.0    # exact, in [-1, 1)
    b = u.astype(np.float32).view(np.uint32)                         # round to binary32 (nearest even)
    b = (b + np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return b.view(np.float32).astype(np.float64) * amp


def golden_tensor(case_seed, name, shape, amp=1.0, first=0):
    """The whole tensor (elements first .. first + prod(shape) - 1), reshaped."""
    count = int(np.prod(shape))
    return golden_at(case_seed, name, np.arange(first, first + count, dtype=np.uint64), amp).reshape(shape)
