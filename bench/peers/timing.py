# The one timing method of `swiattn bench`, for the PyTorch peers: the same steps as the Java side
# (cli/src/main/java/org/swiattn/cli/BenchTiming.java), so that every ratio compares like with like.
#
#   flushed (default)  warm-up runs; then per repeat: clear the L2 (write a 256 MiB buffer), event, the work,
#                      event, all queued back to back without waiting; median (and min) of the event times
#   sync               per repeat: event, the work, event, wait for it (no flush)
# These are the steps of triton.testing.do_bench with a fixed repeat count instead of a time budget.
import torch

_flush = None


def measure(fn, warmup, repeats, method="flushed"):
    """(median ms, min ms) of fn() on the current stream."""
    global _flush
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ms = []
    if method == "sync":
        for _ in range(repeats):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            ms.append(a.elapsed_time(b))
    elif method == "flushed":
        if _flush is None:
            _flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
        events = []
        for i in range(repeats):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            _flush.fill_(i & 0xFF)
            a.record()
            fn()
            b.record()
            events.append((a, b))
        torch.cuda.synchronize()
        ms = [a.elapsed_time(b) for a, b in events]
    else:
        raise ValueError(f"timing: flushed or sync, got {method!r}")
    ms.sort()
    return ms[repeats // 2], ms[0]
