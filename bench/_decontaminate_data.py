"""The planted set of bench/bench_decontaminate.py: eval items held out per split, documents
from books and web pages, and benchmark items planted in them as full text, reformatted, with a
few words changed, or as the question alone (the module docstring of the bench says which)."""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpora"

from corpuskit.stages.decontaminate.text import words  # noqa: E402

FILLER = ("house river light table garden letter morning window friend market stone paper music "
          "winter doctor island horse kitchen silver forest").split()
# Items made of brackets and a prompt template: no word but the template's, nothing to find.
UNFINDABLE = {"bigbench_dyck_languages"}
# Items generated from a few templates (numbers, letters or one word changed): a held-out one
# is an indexed one with a few words changed, which must be caught, so none is planted as clean.
GENERATED = {"bigbench_operators", "bigbench_cs_algorithms", "bigbench_repeat_copy_logic", "winograd_wsc",
             "winogrande"}
NGRAM = 13  # the default ngram, for the labels
VARIANTS = ("full", "format", "words", "question", "question+format")


# -- data ------------------------------------------------------------------------------------
def eval_rows() -> dict[str, list[dict]]:
    out = {}
    for f in sorted((SHARED / "eval").glob("*.jsonl*")):
        raw = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        out[f.name.split(".")[0]] = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
    return out


def render(row: dict, question_only: bool) -> str:
    if "query" in row:
        q, a = row["query"], row["choices"][row["gold"]]
    elif "context_options" in row:
        q, a = row["context_options"][row["gold"]], row["continuation"]
    else:
        q, a = row["context"], row["continuation"]
    return q if question_only else f"{q} {a}"


def hold_out(rows: dict[str, list[dict]], seed: int) -> tuple[dict, dict]:
    """(indexed rows, held-out rows) per benchmark: ~5% of each benchmark's item groups. Items
    that share a passage of 8 words (not one every item has: a template) are one group, like the
    LSAT questions on one passage or a sentence asked about twice."""
    indexed, held = {}, {}
    for name, items in rows.items():
        grams = []
        for r in items:
            ws = words(render(r, False))
            grams.append({b" ".join(ws[i:i + 8]) for i in range(max(len(ws) - 7, 1))})
        seen: dict[bytes, int] = {}
        for g in grams:
            for h in g:
                seen[h] = seen.get(h, 0) + 1
        parent = list(range(len(items)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        first: dict[bytes, int] = {}
        for i, g in enumerate(grams):
            for h in g:
                if seen[h] <= 10:  # a passage, not the benchmark's template
                    a, b = root(i), root(first.setdefault(h, i))
                    parent[max(a, b)] = min(a, b)  # a group is named by its first item, whatever the order
        out = {i for i in range(len(items)) if random.Random(f"{seed}:{name}:{root(i)}").random() < 0.05}
        indexed[name] = [r for i, r in enumerate(items) if i not in out]
        held[name] = [r for i, r in enumerate(items) if i in out]
    return indexed, held


def chunks(text: str, size: int = 3000) -> list[str]:
    out, cur = [], ""
    for para in re.split(r"\n\s*\n", text):
        cur = f"{cur}\n\n{para.strip()}" if cur else para.strip()
        if len(cur) >= size:
            out.append(cur)
            cur = ""
    return [c for c in out if len(c) >= 1000]


def pages(path: Path, key: str = "text") -> list[str]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    texts = [json.loads(line).get(key) or "" for line in raw.decode().splitlines() if line.strip()]
    return [t for t in texts if len(t) >= 1000]


def documents(split: str) -> list[str]:
    books = sorted((SHARED / "gutenberg").glob("*.txt"))
    docs = []
    for i, book in enumerate(books):
        if i % 2 == (0 if split == "dev" else 1):
            text = book.read_text(encoding="utf-8", errors="replace")
            body = text.split("*** START", 1)[-1].split("*** END", 1)[0]
            docs += chunks(body)
    q = SHARED / "quality"
    if split == "dev":
        docs += pages(q / "negatives_c4.jsonl.gz")
    else:
        docs += pages(q / "negatives_hplt.jsonl.gz") + pages(q / "positives_openstax.jsonl.gz")[:2000]
        docs += pages(SHARED / "dev" / "html" / "gold.jsonl", "gold_text")
    return docs


def reformat(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        text = re.sub(r"\s+", lambda m: rng.choice([" ", "  ", "\n", " \t"]), text)
    case = rng.random()
    text = text.upper() if case < 0.2 else text.lower() if case < 0.5 else text
    if rng.random() < 0.6:
        text = re.sub(r"[^\w\s]", lambda m: rng.choice(["", " ", ",", ".", m.group()]), text)
    return text


def change_words(text: str, rng: random.Random) -> str:
    tokens = text.split(" ")
    n = min(3, max(1, len(words(text)) // 15))
    for i in rng.sample(range(len(tokens)), min(n, len(tokens))):
        tokens[i] = rng.choice(FILLER)
    return " ".join(tokens)


def plant(doc: str, item: str, rng: random.Random) -> tuple[str, int, int]:
    paras = doc.split("\n\n")
    k = rng.randrange(1, len(paras)) if len(paras) > 1 else 1
    before = "\n\n".join(paras[:k]) + "\n\n"
    return before + item + "\n\n" + "\n\n".join(paras[k:]), len(before), len(before) + len(item)


def planted_set(split: str, seed: int, scale: float, indexed: dict, held: dict, findable: set) -> dict:
    """The split's documents, a quarter with an indexed item planted, an eighth with a held-out one."""
    rng = random.Random(seed)
    indexed = {n: [r for i, r in enumerate(rows) if (n, i) in findable] for n, rows in indexed.items()}
    docs = documents(split)
    rng.shuffle(docs)
    docs = docs[: int(len(docs) * scale)]
    n_cont, n_like = len(docs) // 4, len(docs) // 8
    names = [n for n in sorted(indexed) if n not in UNFINDABLE]
    out = {"docs": [], "kind": [], "span": [], "variant": [], "bench": []}
    for i, doc in enumerate(docs):
        if i < n_cont + n_like:
            pool = indexed if i < n_cont else held
            while True:
                name = rng.choice([n for n in names if pool[n] and (pool is indexed or n not in GENERATED)])
                variant = rng.choice(VARIANTS)
                item = render(rng.choice(pool[name]), variant.startswith("question"))
                if variant == "words" and len(words(item)) < 15:
                    continue
                if "format" in variant or variant == "words":
                    item = reformat(item, rng)
                if variant == "words":
                    item = change_words(item, rng)
                if len(words(item)) >= 8:
                    break
            doc, a, b = plant(doc, item, rng)
            out["kind"].append("contaminated" if i < n_cont else "like")
            out["span"].append((a, b)), out["variant"].append(variant), out["bench"].append(name)
        else:
            out["kind"].append("clean"), out["span"].append(None), out["variant"].append(None)
            out["bench"].append(None)
        out["docs"].append(doc)
    return out
