#!/usr/bin/env python3
"""minqing's near-duplicate engine against datasketch's MinHashLSH, side by
side in one run, on the same load and at the same parameters (issue 5).

1. Runs `minqing bench neardup --write-load` (Rust, one thread): fill the
   index with --index tickets, then time insert + query for --measure more.
2. Reads the very load it wrote and does the same with datasketch: MinHash
   (num_perm) over the same canonical character bigrams, MinHashLSH with
   the same (bands, rows), one LSH per town (the engine's blocking),
   candidates verified by exact Jaccard, then inserted.
3. Prints both rates and their ratio.

datasketch does less than the engine: no head (title) view, no clusters,
no triggers; its side is a lower bound of the work.

Usage (pip install datasketch):
  python3 benches/neardup/datasketch_compare.py --data ../shared/data/teddycup2020c/hotspot_messages.csv \
      [--index 500000] [--measure 50000] [--minqing target/release/minqing]
"""
import argparse
import csv
import json
import re
import subprocess
import sys
import time
import unicodedata

try:
    from datasketch import MinHash, MinHashLSH
except ImportError:
    sys.exit("needs datasketch: pip install datasketch")

# The engine's defaults (config/default.toml [neardup]).
IGNORE = ["尊敬的领导", "尊敬的市长", "尊敬的书记", "领导您好", "领导你好", "您好", "你好", "谢谢", "此致敬礼"]


def canonical(text):
    t = unicodedata.normalize("NFKC", text).lower()
    t = "".join(c for c in t if c.isalnum())
    for p in sorted(IGNORE, key=len, reverse=True):
        t = t.replace(p, "")
    return t


def shingles(title, text):
    t = canonical(text)
    tt = canonical(title)
    if tt and not t.startswith(tt):
        t = tt + t
    if len(t) < 2:
        return {t} if t else set()
    return {t[i:i + 2] for i in range(len(t) - 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--index", type=int, default=500_000)
    ap.add_argument("--measure", type=int, default=50_000)
    ap.add_argument("--minqing", default="target/release/minqing")
    ap.add_argument("--load", default="/tmp/minqing-neardup-load.csv")
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--bands", type=int, default=32)
    ap.add_argument("--rows", type=int, default=4)
    ap.add_argument("--threshold", type=float, default=0.4)
    a = ap.parse_args()

    cmd = [a.minqing, "bench", "neardup", "--data", a.data, "--index", str(a.index),
           "--measure", str(a.measure), "--write-load", a.load, "--json"]
    print("minqing:", " ".join(cmd), flush=True)
    rust = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    print(f"  fill {rust['fill_per_second']:.0f}/s, insert + query at {a.index}: {rust['per_second']:.0f} tickets/s", flush=True)

    rows = list(csv.DictReader(open(a.load, encoding="utf-8")))
    lsh = {}
    sets = {}

    def minhash(sh):
        m = MinHash(num_perm=a.num_perm)
        m.update_batch([s.encode("utf-8") for s in sh])
        return m

    def index_of(town):
        if town not in lsh:
            lsh[town] = MinHashLSH(num_perm=a.num_perm, params=(a.bands, a.rows))
        return lsh[town]

    t0 = time.perf_counter()
    for r in rows[: a.index]:
        sh = shingles(r["title"], r["text"])
        sets[r["id"]] = sh
        index_of(r["town"]).insert(r["id"], minhash(sh))
    fill = time.perf_counter() - t0
    print(f"datasketch: fill {a.index / fill:.0f}/s", flush=True)

    linked = 0
    t0 = time.perf_counter()
    for r in rows[a.index: a.index + a.measure]:
        sh = shingles(r["title"], r["text"])
        m = minhash(sh)
        idx = index_of(r["town"])
        for c in idx.query(m):
            other = sets[c]
            j = len(sh & other) / max(1, len(sh | other))
            if j >= a.threshold:
                linked += 1
                break
        sets[r["id"]] = sh
        idx.insert(r["id"], m)
    secs = time.perf_counter() - t0
    ds = a.measure / secs
    print(f"  insert + query at {a.index}: {ds:.0f} tickets/s ({linked} linked)")
    print(f"ratio minqing / datasketch: {rust['per_second'] / ds:.1f}x (fill {rust['fill_per_second'] / (a.index / fill):.1f}x)")


if __name__ == "__main__":
    main()
