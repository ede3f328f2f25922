#!/usr/bin/env python3
"""Near-duplicate evaluation set from the real messages (issue 5).

Reads ../shared/data/teddycup2020c/hotspot_messages.csv (never copied into
the repository) and writes a CSV with the columns `minqing dedup eval`
reads: id,title,text,user,time,town,group (and ops: how a row was made).

- Originals: real messages, chosen so that many share an estate, street or
  road name with another original (real distractors: different issues in
  the same place). The file repeats some issues itself (joint letters,
  campaigns, one citizen writing twice); such a repeat would count as a
  false link here, so an original is skipped when its character-bigram
  Jaccard with one already chosen is 0.3 or more (or 0.5 between the
  titles), and the hand-labelled
  real groups (tests/fixtures/neardup_real_groups.csv) are left out: they
  are measured on their own, in the --real-out file.
- Rewordings, 1-3 per chosen original, as a citizen would send them again:
  sentences reordered, greetings and complaints about earlier inaction
  added, details dropped or added, typos, full-width/half-width
  punctuation swapped, the title alone instead of the full text. A
  rewording keeps the original's user or (one in three) comes from a
  neighbour, and is dated 0-40 days later.

--real-out writes every message of the file with the hand-labelled groups
(a message outside them is its own group), for measuring real repeats.

Deterministic for a given --seed. Usage:
  python3 benches/neardup/make_evalset.py --data ../shared/data/teddycup2020c/hotspot_messages.csv \
      --out /tmp/neardup_eval.csv --real-out /tmp/neardup_real.csv [--originals 1500] [--seed 7]
"""
import argparse
import csv
import datetime as dt
import random
import re

GREETINGS = ["您好！", "尊敬的领导：", "领导好，", "你好，", "尊敬的市长您好：", "各位领导，"]
INACTION = [
    "这个问题之前已经反映过好几次了，一直没有人处理。",
    "上次打电话说会处理，到现在还是老样子！",
    "已经过去一个多月了，相关部门一直没有答复。",
    "再次反映此事，希望这次能有人管。",
    "之前的答复根本没有解决问题。",
]
ADDED = [
    "附近居民都深受其害。",
    "希望有关部门尽快解决。",
    "请领导重视。",
    "恳请相关部门调查处理。",
    "谢谢！",
    "周边很多老人小孩，安全隐患很大。",
]
# Common slips of the pinyin input method.
TYPOS = {"的": "地", "在": "再", "已": "以", "做": "作", "像": "象", "反映": "反应", "那": "哪", "到": "倒",
         "和": "合", "制": "治", "部": "步", "经": "径", "理": "里", "工": "公", "期": "其"}
WIDTH = {"，": ",", "。": ".", "！": "!", "？": "?", "：": ":", "（": "(", "）": ")", "；": ";"}
PLACE = re.compile(r"[\u4e00-\u9fa5]{2,8}?(?:小区|花园|新城|家园|公寓|大厦|广场|社区|村|路|街|学校|医院)")


def bigrams(text):
    t = re.sub(r"[\W_]+", "", text.lower())
    return {t[k:k + 2] for k in range(len(t) - 1)}


def sentences(text):
    parts = re.split(r"(?<=[。！？!?；;])", text)
    return [p for p in parts if p.strip()]


def reword(rng, title, text):
    """One rewording, and the list of operations applied."""
    if rng.random() < 0.15:
        return title, ["title_only"]
    ops = []
    ss = sentences(text)
    if len(ss) > 2 and rng.random() < 0.5:
        i = rng.randrange(len(ss) - 1)
        ss[i], ss[i + 1] = ss[i + 1], ss[i]
        ops.append("reorder")
    if len(ss) > 3 and rng.random() < 0.4:
        del ss[rng.randrange(1, len(ss))]
        ops.append("drop_detail")
    if rng.random() < 0.4:
        ss.insert(rng.randrange(len(ss) + 1), rng.choice(ADDED))
        ops.append("add_detail")
    if rng.random() < 0.5:
        ss.insert(0, rng.choice(INACTION))
        ops.append("inaction")
    if rng.random() < 0.5:
        ss.insert(0, rng.choice(GREETINGS))
        ops.append("greeting")
    out = "".join(ss)
    if rng.random() < 0.6:
        keys = [k for k in TYPOS if k in out]
        for k in rng.sample(keys, min(len(keys), rng.randint(1, 3))):
            out = out.replace(k, TYPOS[k], 1)
        ops.append("typos")
    if rng.random() < 0.5:
        out = "".join(WIDTH.get(c, c) for c in out)
        ops.append("halfwidth")
    if rng.random() < 0.3 and not out.startswith(title):
        out = title + "。" + out
        ops.append("with_title")
    return out, ops or ["copy_edit"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--groups", default="tests/fixtures/neardup_real_groups.csv",
                    help="hand-labelled real groups (id,group), kept as one group each")
    ap.add_argument("--real-out")
    ap.add_argument("--originals", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rows = {r["id"]: r for r in csv.DictReader(open(a.data, encoding="utf-8"))}
    real = {}
    try:
        for r in csv.DictReader(line for line in open(a.groups, encoding="utf-8") if not line.startswith("#")):
            real[r["id"]] = "real-" + r["group"]
    except FileNotFoundError:
        pass

    # Places named by more than one message: their messages are distractors
    # for each other.
    by_place = {}
    for r in rows.values():
        for p in set(PLACE.findall(r["title"] + r["text"][:200])):
            by_place.setdefault(p, []).append(r["id"])
    pool = set(rows) - set(real)
    shared = sorted({i for ids in by_place.values() if 2 <= len(ids) <= 30 for i in ids} & pool)
    rest = sorted(pool - set(shared))
    rng.shuffle(shared)
    rng.shuffle(rest)
    chosen, grams = [], []
    jac = lambda g, h: len(g & h) / max(1, len(g | h))
    for want, src in ((a.originals * 2 // 3, shared), (a.originals, rest)):
        for i in src:
            if len(chosen) >= want:
                break
            g = (bigrams(rows[i]["title"] + rows[i]["text"]), bigrams(rows[i]["title"]))
            if any(jac(g[0], h[0]) >= 0.3 or jac(g[1], h[1]) >= 0.5 for h in grams):
                continue
            chosen.append(i)
            grams.append(g)
    chosen.sort()

    out = csv.writer(open(a.out, "w", encoding="utf-8", newline=""))
    out.writerow(["id", "title", "text", "user", "time", "town", "group", "ops"])
    n_var = 0
    for i in chosen:
        r = rows[i]
        group = "g" + i
        t0 = dt.datetime.strptime(r["time"].replace("/", "-"), "%Y-%m-%d %H:%M:%S")
        out.writerow([i, r["title"], r["text"], r["user"], t0.isoformat(), "", group, "original"])
        for k in range(rng.choice([1, 1, 2, 3])):
            text, ops = reword(rng, r["title"], r["text"])
            user = r["user"] if rng.random() < 2 / 3 else f"N{i}-{k}"
            t = t0 + dt.timedelta(days=rng.uniform(0, 40))
            title = r["title"] if ops == ["title_only"] else ""
            out.writerow([f"{i}-v{k}", title, text, user, t.isoformat(timespec="seconds"), "", group, "+".join(ops)])
            n_var += 1
    print(f"{len(chosen)} originals, {n_var} rewordings -> {a.out}")
    if a.real_out:
        w = csv.writer(open(a.real_out, "w", encoding="utf-8", newline=""))
        w.writerow(["id", "title", "text", "user", "time", "town", "group"])
        for i, r in rows.items():
            t = dt.datetime.strptime(r["time"].replace("/", "-"), "%Y-%m-%d %H:%M:%S")
            w.writerow([i, r["title"], r["text"], r["user"], t.isoformat(), "", real.get(i, "g" + i)])
        print(f"{len(rows)} real messages, {len(set(real.values()))} hand-labelled groups -> {a.real_out}")


if __name__ == "__main__":
    main()
