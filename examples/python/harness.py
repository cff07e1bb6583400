#!/usr/bin/env python3
"""Checks a PyTorch SwiAttn implementation against every golden case in one call.

You pass a function fn(q, k, v, route, router_logits, window, scale, estimator) -> (o, lse) (the calling convention
and shapes are in adapters_torch.py). For each golden case the harness regenerates the inputs (the portable
generator, through swiattn_client.Case), runs fn, takes dq, dk, dv and d(router_logits) with autograd for the loss
<o, dO>, writes a candidate file, runs `swiattn check --all` on them and prints one table.

    python3 examples/python/harness.py --adapter plain --precision fp64            # CPU, plain PyTorch
    python3 examples/python/harness.py --adapter flex --precision bf16 --device cuda --max-seq 32768

From Python:

    import harness
    harness.main(["--precision", "fp32"], fn=my_attention)   # or harness.check(my_attention, precision="fp32")

32K (SAMPLED) cases: dO is the generator's "do" on the case's sampled rows and zero elsewhere (the row-restricted
loss of SPEC.md section 13.1); fn still runs on all 32768 rows. The harness keeps the sampled rows and the LSE of
head lse_all_head. They need a GPU: a dense adapter on 2 CPU cores needs about 10^13 flops per case.

Exit status: 0 every checked case passes, 1 a case fails or could not run, 2 bad input.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import golden_prng      # noqa: E402
import safetensors_np   # noqa: E402
import swiattn_client   # noqa: E402

PRECISIONS = ("bf16", "fp32", "fp64")


def case_arrays(c):
    """The case's inputs in numpy float64 (every value is bf16-representable, so any dtype holds it exactly):
    q, k, v, dO (zero outside the sampled rows of a SAMPLED case), route z (bool), router logits a."""
    B, S, Hq, Hkv, D = c.B, c.S, c.Hq, c.Hkv, c.D
    q = c.gen("q", (B, S, Hq, D))
    k = c.gen("k", (B, S, Hkv, D))
    v = c.gen("v", (B, S, Hkv, D))
    if c.entry["kind"] == "whole":
        do = c.gen("do", (B, S, Hq, D))
    else:
        rows = c.t["rows"].astype(np.int64)
        hd = Hq * D
        idx = (rows[:, None] * hd + np.arange(hd)[None, :]).reshape(-1)
        do = np.zeros((B * S, Hq, D))
        do[rows] = golden_prng.golden_at(c.seed, "do", idx, c.amp["do"]).reshape(len(rows), Hq, D)
        do = do.reshape(B, S, Hq, D)
    return q, k, v, do, c.z, c.a


def golden_names(c, host):
    """The candidate tensors under the golden names: WHOLE cases as computed; SAMPLED cases the sampled rows and
    the LSE of head lse_all_head. host: o, lse (+ dq, dk, dv, d_router_logit) as numpy arrays."""
    if c.entry["kind"] == "whole":
        return host
    rows = c.t["rows"].astype(np.int64)
    head = int(c.meta["lse_all_head"])
    sampled = {"o_rows": host["o"][0, rows], "lse_rows": host["lse"][0, rows],
               "lse_all": np.ascontiguousarray(host["lse"][:, :, head])}
    if "dq" in host:
        sampled.update({"dq_rows": host["dq"][0, rows], "dk_rows": host["dk"][0, rows],
                        "dv_rows": host["dv"][0, rows], "d_router_logit_rows": host["d_router_logit"][0, rows]})
    return sampled


def run_case(fn, c, precision, device):
    """Runs a PyTorch fn on a case with autograd; returns the candidate's tensors under the golden names."""
    import torch
    dtype = {"fp64": torch.float64, "fp32": torch.float32, "bf16": torch.bfloat16}[precision]
    qn, kn, vn, don, zn, an = case_arrays(c)
    q, k, v, do = (torch.tensor(x, dtype=dtype, device=device) for x in (qn, kn, vn, don))
    route = torch.tensor(zn, dtype=torch.bool, device=device)
    a = torch.tensor(an, dtype=torch.float64 if dtype == torch.float64 else torch.float32, device=device)
    grads = c.backward
    for x in (q, k, v):
        x.requires_grad_(grads)
    a.requires_grad_(grads and c.est != "HARD")
    o, lse = fn(q, k, v, route, a, c.w, c.scale, c.est)
    if tuple(o.shape) != (c.B, c.S, c.Hq, c.D) or tuple(lse.shape) != (c.B, c.S, c.Hq):
        raise ValueError("fn returned o %s, lse %s; expected [B,S,Hq,D] = %s and [B,S,Hq]"
                         % (tuple(o.shape), tuple(lse.shape), (c.B, c.S, c.Hq, c.D)))
    out = {"o": o, "lse": lse}
    if grads:
        (o * do).sum().backward()
        out.update({"dq": q.grad, "dk": k.grad, "dv": v.grad,
                    "d_router_logit": a.grad if a.grad is not None else torch.zeros_like(a)})
    host = {n: x.detach().to(torch.float64 if dtype == torch.float64 else torch.float32).cpu().numpy()
            for n, x in out.items()}
    return golden_names(c, host)


def parse_check(text):
    """Per case label ("20 routed_gqa2_s64_w16_saturated"): (result, worst err/bound, worst tensor) from the
    per-candidate tables of `swiattn check --all`."""
    results = {}
    label = None
    for line in text.splitlines():
        m = re.match(r"case (\d+ \S+), candidate .*: (PASS|FAIL)$", line)
        if m:
            label = m.group(1)
            results[label] = [m.group(2), 0.0, "-"]
            continue
        parts = line.split()
        if label and len(parts) >= 7 and parts[-1] in ("PASS", "FAIL") and parts[0] != "tensor":
            try:
                ratio = float(parts[4]) / float(parts[-2])
            except ValueError:
                continue
            if ratio > results[label][1] or ratio != ratio:
                results[label][1:] = [ratio, parts[0]]
        elif not line.strip():
            label = None
    return results


def check(fn, precision="fp64", golden=None, out=None, cases=None, max_seq=4096, device="cpu", explain=False,
          label="candidate", runner=run_case):
    """Runs fn on the golden cases, writes candidates to out, runs swiattn check; returns (exit status, rows).
    runner(fn, case, precision, device) -> {golden name: array} runs fn and takes its gradients (run_case: PyTorch
    autograd; adapters_jax.run_case: jax.vjp)."""
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    golden = golden or os.path.join(root, "golden")
    out = out or os.path.join(os.getcwd(), "harness-candidates-" + precision)
    with open(os.path.join(golden, "manifest.json")) as f:
        entries = json.load(f)["cases"]
    if cases:
        wanted = set(cases)
        entries = [e for e in entries if e["name"] in wanted or str(e["tcId"]) in wanted]
    else:
        entries = [e for e in entries if e["S"] <= max_seq]
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.endswith(".safetensors"):
            os.unlink(os.path.join(out, old))
    rows = []
    for e in entries:
        c = swiattn_client.Case(golden, e)
        t0 = time.time()
        try:
            tensors = runner(fn, c, precision, device)
        except Exception as ex:   # an unsupported shape (e.g. D = 1 for a kernel) is a row, not the end of the run
            rows.append([e["tcId"], c.name, precision, time.time() - t0, "NOT RUN", float("nan"),
                         ("%s: %s" % (type(ex).__name__, ex)).splitlines()[0][:60]])
            print("%-34s %-5s not run: %s" % (c.name, precision, rows[-1][-1]), flush=True)
            continue
        safetensors_np.write(os.path.join(out, c.name + ".safetensors"),
                             {"precision": precision, "case": c.name,
                              "implementation": label}, tensors)
        rows.append([e["tcId"], c.name, precision, time.time() - t0, None, None, None])
        print("%-34s %-5s %7.1f s" % (c.name, precision, rows[-1][3]), flush=True)
    status = 0
    if any(r[4] is None for r in rows):
        cmd = [os.path.join(root, "swiattn"), "check", "--golden", golden, "--all", out] + (
            ["--explain"] if explain else [])
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode == 2 or p.returncode not in (0, 1, 2):
            sys.stderr.write(p.stdout + p.stderr)
            return 2, rows
        if explain or p.returncode != 0:
            print(p.stdout, end="")
        judged = parse_check(p.stdout)
        for r in rows:
            if r[4] is None:
                r[4:] = judged.get("%d %s" % (r[0], r[1]), ["NOT CHECKED", float("nan"), "-"])
    print()
    print("%-4s  %-34s  %-9s  %8s  %-11s  %15s  %s" % ("tcId", "case", "precision", "seconds", "result",
                                                         "worst err/bound", "worst tensor / note"))
    for r in rows:
        print("%4d  %-34s  %-9s  %8.1f  %-11s  %15.3e  %s" % tuple(r))
        status = status or (0 if r[4] == "PASS" else 1)
    passed = sum(r[4] == "PASS" for r in rows)
    print("%d of %d cases pass (%s, %s)" % (passed, len(rows), label, precision))
    return status, rows


def main(argv=None, fn=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", default="plain", help="adapters_torch.ADAPTERS: plain (default) or flex; "
                    "ignored when fn is given")
    ap.add_argument("--precision", default="fp64", choices=PRECISIONS, help="dtype of q, k, v, dO")
    ap.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    ap.add_argument("--router-grad", default="exact", choices=["exact", "autograd"],
                    help="exact: sigmoid_pair (conforming); autograd: torch.sigmoid and 1 - p (SPEC.md 10.2)")
    ap.add_argument("--golden", default=None, help="golden folder (default: the repository's)")
    ap.add_argument("--out", default=None, help="folder for the candidate files")
    ap.add_argument("--max-seq", type=int, default=4096, help="skip cases with S above this (32K: 32768)")
    ap.add_argument("--explain", action="store_true", help="pass --explain to swiattn check")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("cases", nargs="*", help="case names or tcIds (default: every case up to --max-seq)")
    args = ap.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    label = "fn"
    if fn is None:
        import adapters_torch
        if args.adapter not in adapters_torch.ADAPTERS:
            sys.exit("harness: --adapter must be one of %s, got %r" % (sorted(adapters_torch.ADAPTERS), args.adapter))
        base = adapters_torch.ADAPTERS[args.adapter]
        fn = lambda *xs: base(*xs, router_grad=args.router_grad)   # noqa: E731
        import torch
        label = "adapters_torch.%s, router_grad=%s (torch %s)" % (args.adapter, args.router_grad, torch.__version__)
    status, _ = check(fn, args.precision, args.golden, args.out, args.cases, args.max_seq, args.device, args.explain,
                      label)
    return status


if __name__ == "__main__":
    sys.exit(main())
