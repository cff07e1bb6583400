#!/usr/bin/env python3
"""Checks a PyTorch SwiAttn implementation against every golden case in one call.

You pass a function

    fn(q, k, v, route, router_logits, window, scale, estimator,
       cu_seqlens_q=None, cu_seqlens_k=None, cache_seqlens=None) -> (o, lse)

    q [B,Sq,Hq,D], k, v [B,Sk,Hkv,D]; route [B,Sq] bool (True = full branch); router_logits [B,Sq]; window w;
    scale; estimator "HARD" | "STRAIGHT_THROUGH" | "SELECTED_BRANCH" | "SOFT"; o [B,Sq,Hq,D], lse [B,Sq,Hq] (natural
    log, of the branch the route selects). Details and two implementations: adapters_torch.py.

For each golden case the harness regenerates the inputs (the portable generator, through swiattn_client.Case), runs
fn, takes dq, dk, dv and d(router_logits) with autograd for the loss <o, dO>, writes a candidate file, runs
`swiattn check --all` on them and prints one table.

Segments (suite 2, SPEC.md 2.1), in FlashAttention's convention:
  chunked prefill   Sq < Sk, no metadata: queries bottom-right aligned (query t is at position Sk - Sq + t)
  KV cache, decode  cache_seqlens int32 [B]: valid keys of batch row b, the new tokens' keys included
                    (flash_attn_with_kvcache's cache_seqlens is that minus Sq); k, v [B,Sk,Hkv,D] are the padded
                    cache, and its unused slots hold NaN in the cases flagged UnusedSlotsNaN
  packed batch      cu_seqlens_q, cu_seqlens_k int32 [n+1] over the flat rows (flash_attn_varlen_func), B = 1;
                    positions restart at 0 in every segment, and a segment may have no queries
The keywords are passed only to a function whose signature names all three (cu_seqlens_q, cu_seqlens_k,
cache_seqlens); any other function is reported NOT SUPPORTED on every case with Sq != Sk or segment metadata. A
case on which fn (or its backward) raises NotImplementedError is NOT SUPPORTED too, with the message: a declared
limit. NOT SUPPORTED is neither a pass nor a failure: the table counts it apart; any other exception is NOT RUN, a
failure.

    python3 examples/python/harness.py --adapter plain --precision fp64            # CPU, plain PyTorch
    python3 examples/python/harness.py --adapter flex --precision bf16 --device cuda --all

From Python:

    import harness
    harness.main(["--precision", "fp32"], fn=my_attention)   # or harness.check(my_attention, precision="fp32")

Which cases run: every case of every suite of size max(B*Hq*Sq*Sk, B*Sk*Hkv*D) <= --max-size (default 2^25: every
case of suite 1 up to S = 4096 and suite 2's 101-107 and 111; a dense adapter on 2 CPU cores takes minutes to
hours on the others, the six suite-1 32K cases and suite 2's production-shape 108-110, 112-114). The others are
listed as SKIPPED with their size, never dropped silently. --all (or naming the cases) runs them.

SAMPLED cases: dO is the generator's "do" on the case's sampled rows and zero elsewhere (the row-restricted loss of
SPEC.md section 13.1); fn still runs on all rows. The harness keeps the sampled query rows, the dk, dv of the
sampled key rows, and the LSE of head lse_all_head.

Exit status: 0 every checked case passes, 1 a case fails or could not run, 2 bad input.
"""
import argparse
import inspect
import json
import os
import re
import shlex
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
SEGMENT_ARGS = ("cu_seqlens_q", "cu_seqlens_k", "cache_seqlens")
MAX_SIZE = 1 << 25


class NotSupported(Exception):
    """fn cannot take the case: no segment keywords in its signature (NotImplementedError counts the same)."""


def segment_args(c):
    """The case's segment metadata as fn's keywords (numpy int32), or None for self-attention prefill (Sq = Sk, one
    segment per batch row): {} for chunked prefill (Sq < Sk), cache_seqlens, or cu_seqlens_q and cu_seqlens_k."""
    form = c.meta.get("segments", "self")
    if form == "self":
        return None
    if form == "bottom_right":
        return {}
    if form == "kv_cache":
        return {"cache_seqlens": c.t["cache_seqlens"].astype(np.int32)}
    if form == "packed":
        return {n: c.t[n].astype(np.int32) for n in ("cu_seqlens_q", "cu_seqlens_k")}
    raise ValueError("case %s: unknown segments form %r" % (c.name, form))


def supports_segments(fn):
    """Whether fn's signature names every keyword of SEGMENT_ARGS (a **kwargs alone does not count)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return all(n in params for n in SEGMENT_ARGS)


def size(e):
    """A case's size for a dense adapter: max(B*Hq*Sq*Sk score elements per branch, B*Sk*Hkv*D elements of k)."""
    Sk = e.get("Sk", e["S"])
    return max(e["B"] * e["Hq"] * e["S"] * Sk, e["B"] * Sk * e["Hkv"] * e["D"])


def case_arrays(c):
    """The case's inputs in numpy float64 (every value is bf16-representable, so any dtype holds it exactly):
    q [B,Sq,Hq,D]; k, v [B,Sk,Hkv,D] (NaN in the key rows of no segment where the case says unused_kv = nan);
    dO [B,Sq,Hq,D] (zero outside the sampled rows of a SAMPLED case); route z [B,Sq] (bool); router logits a [B,Sq]."""
    B, S, Hq, Hkv, D, Sk = c.B, c.S, c.Hq, c.Hkv, c.D, c.Sk
    q = c.gen("q", (B, S, Hq, D))
    k = c.kv("k", np.float64).reshape(B, Sk, Hkv, D)
    v = c.kv("v", np.float64).reshape(B, Sk, Hkv, D)
    if c.entry["kind"] == "whole":
        do = c.gen("do", (B, S, Hq, D)) if c.backward else np.zeros((B, S, Hq, D))
    else:
        rows = c.t["rows"].astype(np.int64)
        hd = Hq * D
        idx = (rows[:, None] * hd + np.arange(hd)[None, :]).reshape(-1)
        do = np.zeros((B * S, Hq, D))
        do[rows] = golden_prng.golden_at(c.seed, "do", idx, c.amp["do"]).reshape(len(rows), Hq, D)
        do = do.reshape(B, S, Hq, D)
    return q, k, v, do, c.z.reshape(B, S), c.a.reshape(B, S)


def golden_names(c, host):
    """The candidate tensors under the golden names: WHOLE cases as computed; SAMPLED cases the sampled query rows,
    dk and dv at the sampled key rows (key_rows; suite 1: the rows), and the LSE of head lse_all_head.
    host: o, lse (+ dq, dk, dv, d_router_logit) as numpy arrays, not modified."""
    if c.entry["kind"] == "whole":
        return host
    rows = c.t["rows"].astype(np.int64)
    key_rows = c.t["key_rows"].astype(np.int64) if "key_rows" in c.t else rows
    head = int(c.meta["lse_all_head"])
    flat = lambda x: x.reshape((-1,) + x.shape[2:])   # noqa: E731  [B,S,...] -> [B*S,...]
    sampled = {"o_rows": flat(host["o"])[rows], "lse_rows": flat(host["lse"])[rows],
               "lse_all": np.ascontiguousarray(host["lse"][:, :, head])}
    if "dq" in host:
        sampled.update({"dq_rows": flat(host["dq"])[rows], "dk_rows": flat(host["dk"])[key_rows],
                        "dv_rows": flat(host["dv"])[key_rows],
                        "d_router_logit_rows": flat(host["d_router_logit"])[rows]})
    return sampled


def call_fn(fn, c, to_array, *inputs):
    """fn(*inputs, window, scale, estimator[, segment keywords as to_array(int32 numpy) gives them])."""
    seg = segment_args(c)
    if seg is None:
        return fn(*inputs, c.w, c.scale, c.est)
    if not supports_segments(fn):
        raise NotSupported("no segment keywords (%s)" % ", ".join(SEGMENT_ARGS))
    return fn(*inputs, c.w, c.scale, c.est, **{n: to_array(x) for n, x in seg.items()})


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
    o, lse = call_fn(fn, c, lambda x: torch.tensor(x, dtype=torch.int32, device=device), q, k, v, route, a)
    if tuple(o.shape) != (c.B, c.S, c.Hq, c.D) or tuple(lse.shape) != (c.B, c.S, c.Hq):
        raise ValueError("fn returned o %s, lse %s; expected [B,Sq,Hq,D] = %s and [B,Sq,Hq]"
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


def select(entries, cases=None, max_size=MAX_SIZE, max_seq=None):
    """(to run, skipped) manifest entries: the named cases (names or tcIds; all of them run) or every case with
    size(e) <= max_size and S <= max_seq (None: no limit); skipped [(entry, reason)]."""
    if cases:
        wanted = set(cases)
        picked = [e for e in entries if e["name"] in wanted or str(e["tcId"]) in wanted]
        unknown = wanted - {e["name"] for e in picked} - {str(e["tcId"]) for e in picked}
        if unknown:
            raise ValueError("cases: unknown %s" % ", ".join(sorted(unknown)))
        return picked, []
    run, skipped = [], []
    for e in entries:
        if max_size is not None and size(e) > max_size:
            skipped.append((e, "size %.1e > --max-size %.1e" % (size(e), max_size)))
        elif max_seq is not None and e["S"] > max_seq:
            skipped.append((e, "S = %d > --max-seq %d" % (e["S"], max_seq)))
        else:
            run.append(e)
    return run, skipped


def check(fn, precision="fp64", golden=None, out=None, cases=None, max_size=MAX_SIZE, device="cpu",
          explain=False, label="candidate", runner=run_case, max_seq=None, swiattn=None, time_limit=None):
    """Runs fn on the golden cases, writes candidates to out, runs swiattn check; returns (exit status, rows).
    runner(fn, case, precision, device) -> {golden name: array} runs fn and takes its gradients (run_case: PyTorch
    autograd; adapters_jax.run_case: jax.vjp). swiattn: the command that runs `swiattn` (a string, split like a
    shell; default $SWIATTN or the repository's launcher). Cases run smallest first; once time_limit seconds have
    passed, the cases not yet started are NOT RUN (the others are still checked). Each row: tcId, case, precision,
    seconds, result (PASS, FAIL, NOT RUN, NOT SUPPORTED, SKIPPED, NOT CHECKED), worst err/bound, worst tensor or
    note."""
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    golden = golden or os.path.join(root, "golden")
    out = out or os.path.join(os.getcwd(), "harness-candidates-" + precision)
    swiattn = shlex.split(swiattn or os.environ.get("SWIATTN") or os.path.join(root, "swiattn"))
    with open(os.path.join(golden, "manifest.json")) as f:
        entries, skipped = select(json.load(f)["cases"], cases, max_size, max_seq)
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.endswith(".safetensors"):
            os.unlink(os.path.join(out, old))
    rows = []
    start = time.time()
    for e in sorted(entries, key=size):
        if time_limit is not None and time.time() - start > time_limit:
            rows.append([e["tcId"], e["name"], precision, 0.0, "NOT RUN", float("nan"),
                         "time limit %g s reached" % time_limit])
            continue
        c = swiattn_client.Case(golden, e)
        t0 = time.time()
        try:
            tensors = runner(fn, c, precision, device)
        except (NotSupported, NotImplementedError) as ex:
            note = str(ex) if isinstance(ex, NotSupported) else "NotImplementedError: %s" % ex
            rows.append([e["tcId"], c.name, precision, time.time() - t0, "NOT SUPPORTED", float("nan"),
                         note.splitlines()[0][:60]])
            print("%-34s %-5s not supported: %s" % (c.name, precision, rows[-1][-1]), flush=True)
            continue
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
    if any(r[4] is None for r in rows):
        cmd = swiattn + ["check", "--golden", golden, "--all", out] + (["--explain"] if explain else [])
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode not in (0, 1):
            sys.stderr.write(p.stdout + p.stderr)
            return 2, rows
        if explain or p.returncode != 0:
            print(p.stdout, end="")
        judged = parse_check(p.stdout)
        for r in rows:
            if r[4] is None:
                r[4:] = judged.get("%d %s" % (r[0], r[1]), ["NOT CHECKED", float("nan"), "-"])
    rows += [[e["tcId"], e["name"], precision, 0.0, "SKIPPED", float("nan"), why] for e, why in skipped]
    rows.sort(key=lambda r: r[0])
    print()
    print("%-4s  %-34s  %-9s  %8s  %-13s  %15s  %s" % ("tcId", "case", "precision", "seconds", "result",
                                                         "worst err/bound", "worst tensor / note"))
    status = 0
    for r in rows:
        print("%4d  %-34s  %-9s  %8.1f  %-13s  %15.3e  %s" % tuple(r))
        if r[4] not in ("PASS", "NOT SUPPORTED", "SKIPPED"):
            status = 1
    count = lambda what: sum(r[4] == what for r in rows)   # noqa: E731
    print("%d of %d cases pass, %d fail or did not run, %d not supported, %d skipped (%s, %s)"
          % (count("PASS"), len(rows), len(rows) - count("PASS") - count("NOT SUPPORTED") - count("SKIPPED"),
             count("NOT SUPPORTED"), count("SKIPPED"), label, precision))
    return status, rows


def arguments(description, adapters=True):
    """The harness's command-line options (shared by adapters_jax.py)."""
    ap = argparse.ArgumentParser(description=description)
    if adapters:
        ap.add_argument("--adapter", default="plain", help="adapters_torch.ADAPTERS: plain (default) or flex; "
                        "ignored when fn is given")
        ap.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
        ap.add_argument("--router-grad", default="exact", choices=["exact", "autograd"],
                        help="exact: sigmoid_pair (conforming); autograd: torch.sigmoid and 1 - p (SPEC.md 10.2)")
        ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--precision", default="fp64", choices=PRECISIONS, help="dtype of q, k, v, dO")
    ap.add_argument("--golden", default=None, help="golden folder (default: the repository's)")
    ap.add_argument("--out", default=None, help="folder for the candidate files")
    ap.add_argument("--max-size", type=float, default=MAX_SIZE,
                    help="skip (and list) cases whose max(B*Hq*Sq*Sk, B*Sk*Hkv*D) exceeds this (default 2^25)")
    ap.add_argument("--max-seq", type=int, default=None, help="also skip cases with S above this")
    ap.add_argument("--all", action="store_true", help="every case, whatever its size")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds after which the cases not yet started are reported NOT RUN (default: none)")
    ap.add_argument("--explain", action="store_true", help="pass --explain to swiattn check")
    ap.add_argument("--swiattn", default=None,
                    help="command that runs swiattn (default $SWIATTN, else the repository's ./swiattn)")
    ap.add_argument("cases", nargs="*", help="case names or tcIds (default: every case within the size limits)")
    return ap


def run_args(args, fn, label, runner=run_case, device="cpu"):
    """check() with the parsed options; exit status (2 on bad input)."""
    if args.max_size <= 0:
        sys.stderr.write("harness: --max-size must be positive, got %r\n" % args.max_size)
        return 2
    try:
        status, _ = check(fn, args.precision, args.golden, args.out, args.cases,
                          None if args.all else args.max_size, device, args.explain, label, runner,
                          None if args.all else args.max_seq, args.swiattn, args.time_limit)
    except ValueError as ex:
        sys.stderr.write("harness: %s\n" % ex)
        return 2
    return status


def main(argv=None, fn=None):
    args = arguments(__doc__.split("\n")[0]).parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    label = "fn"
    if fn is None:
        import functools
        import adapters_torch
        if args.adapter not in adapters_torch.ADAPTERS:
            sys.stderr.write("harness: --adapter must be one of %s, got %r\n"
                             % (sorted(adapters_torch.ADAPTERS), args.adapter))
            return 2
        fn = functools.partial(adapters_torch.ADAPTERS[args.adapter], router_grad=args.router_grad)
        import torch
        label = "adapters_torch.%s, router_grad=%s (torch %s)" % (args.adapter, args.router_grad, torch.__version__)
    return run_args(args, fn, label, run_case, args.device)


if __name__ == "__main__":
    sys.exit(main())
