"""HTML-to-text extractors on real pages on this machine: recall of the main text, boilerplate kept, speed.

Pages: documentation sites installed here (mdBook books from the Rust toolchain, the Node.js
API docs), each with a main column and navigation around it. The gold comes from the page's
own structure: the paragraphs (`<p>`) of the main column should be in the text (recall,
by their first 50 characters), the link texts of the navigation should not (boilerplate kept:
the share of those of 3+ words that appear, on the pages that have such links: the Node.js
docs). Prints a table; nothing is asserted.

    python bench/bench_html.py [--pages N]
"""

from __future__ import annotations

import argparse
import glob
import re
import statistics
import time

from lxml import html as lhtml

RUST = "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html"
FAMILIES = {  # glob -> (main column, navigation) as XPath
    f"{RUST}/book/ch*.html": ("//main", "//nav"),
    f"{RUST}/reference/*.html": ("//main", "//nav"),
    f"{RUST}/nomicon/*.html": ("//main", "//nav"),
    "/usr/share/doc/nodejs/api/*.html": ("//*[@id='apicontent']", "//*[@id='column2']"),
}


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def gold(page: str, main_xpath: str, nav_xpath: str):
    tree = lhtml.fromstring(page)
    mains = tree.xpath(main_xpath)
    if not mains:
        return None
    paras = [norm(p.text_content()) for p in mains[0].iter("p")]
    paras = [p[:50] for p in paras if len(p) >= 60]
    main_text = norm(mains[0].text_content())
    nav = {norm(a.text_content()) for n in tree.xpath(nav_xpath) for a in n.iter("a")}
    nav = [t for t in nav if len(t.split()) >= 3 and t not in main_text]
    return (paras, nav) if paras else None  # mdBook draws its sidebar with a script: no links to check


def trafilatura_text(page: str) -> str:
    import trafilatura

    return trafilatura.extract(page, include_comments=False, include_tables=True, deduplicate=False) or ""


def resiliparse_text(page: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(page, main_content=True, alt_texts=False, links=False, form_fields=False)


EXTRACTORS = {"trafilatura": trafilatura_text, "resiliparse": resiliparse_text}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=15, help="pages per family")
    args = ap.parse_args()
    pages = []
    for pattern, (m, n) in FAMILIES.items():
        found = 0
        for path in sorted(glob.glob(pattern)):
            page = open(path, encoding="utf-8", errors="replace").read()
            g = gold(page, m, n)
            if g and found < args.pages:
                pages.append((path, page, *g))
                found += 1
    mb = sum(len(p[1].encode()) for p in pages) / 1e6
    print(f"{len(pages)} pages, {mb:.1f} MB of HTML, {len(FAMILIES)} sites")
    print(f"{'extractor':<12} {'recall':>7} {'boilerplate':>12} {'ms/page':>8} {'MB/s':>6}")
    for name, fn in EXTRACTORS.items():
        fn(pages[0][1])  # imports and first-call setup outside the clock
        recalls, kept, t0 = [], [], time.perf_counter()
        texts = [fn(p[1]) for p in pages]
        dt = time.perf_counter() - t0
        for (_, _, paras, nav), text in zip(pages, texts):
            t = norm(text)
            recalls.append(sum(p in t for p in paras) / len(paras))
            if nav:
                kept.append(sum(n in t for n in nav) / len(nav))
        print(f"{name:<12} {statistics.mean(recalls):7.3f} {statistics.mean(kept):12.3f} "
              f"{1000 * dt / len(pages):8.1f} {mb / dt:6.2f}")


if __name__ == "__main__":
    main()
