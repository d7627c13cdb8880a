#!/usr/bin/env python3
# Keeps a committed corpus small: the hand-written seeds (seed-*, crafted-*) and the
# smallest inputs libFuzzer kept, up to LIMIT bytes; the full corpus stays in
# fuzz/work/<target> (not committed), which later runs start from.
import os, shutil, sys
target, limit = sys.argv[1], int(sys.argv[2])
corpus, work = f"corpus/{target}", f"work/{target}"
os.makedirs(work, exist_ok=True)
for f in os.listdir(corpus):
    shutil.copy2(os.path.join(corpus, f), os.path.join(work, f))
files = sorted(os.listdir(corpus), key=lambda f: (not f.startswith(("seed-", "crafted-")), os.path.getsize(os.path.join(corpus, f))))
total = 0
for f in files:
    size = os.path.getsize(os.path.join(corpus, f))
    if f.startswith(("seed-", "crafted-")) or total + size <= limit:
        total += size
    else:
        os.remove(os.path.join(corpus, f))
