"""Generated pages for the quality tests: good ones (prose) and bad ones (spam lines), labelled."""

from __future__ import annotations

import json
import random

GOOD_WORDS = ("river window garden letter summer candle stone forest harbour market silver morning travel "
              "orchard meadow winter bridge lantern valley kitchen village church school doctor").split()
BAD_LINES = ["BUY NOW!!! best price $$$", "Click here >> FREE shipping", "Home | About | Contact | Login",
             "#deal #sale #cheap #win", "Subscribe!!! Like & share", "CALL 555-0199 NOW", "Lorem ipsum sale"]


def good_page(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(4, 9)):
        words = [rng.choice(GOOD_WORDS) if i % 3 else rng.choice(("the", "of", "and", "with")) for i in range(12)]
        sentences.append(" ".join(words).capitalize() + ", and it was " + rng.choice(GOOD_WORDS) + ".")
    return " ".join(sentences)


def bad_page(rng: random.Random) -> str:
    return "\n".join(rng.choice(BAD_LINES) for _ in range(rng.randint(4, 10)))


def labelled(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"id": f"p{seed}-{i}", "text": good_page(rng) if i % 2 == 0 else bad_page(rng), "label": int(i % 2 == 0)}
            for i in range(n)]


def write_jsonl(path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
