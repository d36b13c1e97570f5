"""MinHash near-dedup through the real runner: decisions, traceability, determinism, index."""

import json

import pytest

from corpuskit.stage import StageContext
from corpuskit.stages.dedup.minhash import MinhashDedup
from helpers.dedup import edit, kept_ids, prose, rejected, run_stages, write_jsonl


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three input files: unique texts, near copies (in a later file), exact and short copies."""
    root = tmp_path_factory.mktemp("in")
    a = [(f"a{i}", prose(i)) for i in range(40)]
    b = [(f"b{i}", prose(100 + i)) for i in range(30)]
    b += [("b_near0", edit(prose(0), 3, seed=1)),       # ~3 words of 120 changed: Jaccard ~0.9
          ("b_near5", "Subscribe now! " + prose(5) + " All rights reserved.")]
    c = [("c_near0", edit(prose(0), 2, seed=2)),        # a second near copy of a0
         ("c_short", "tiny note"), ("c_short2", "Tiny, note!"),  # short docs: one shingle each
         ("c_far", edit(prose(7), 60, seed=3))]        # half the words changed: not a duplicate
    write_jsonl(root / "a.jsonl", a)
    write_jsonl(root / "b.jsonl", b)
    write_jsonl(root / "c.jsonl", c)
    return root


def test_near_duplicates_removed_with_duplicate_of(corpus, tmp_path):
    out = tmp_path / "out"
    run_stages(corpus, out, [{"minhash_dedup": {}}])
    rej = rejected(out)
    assert {k: (r["reason"], r["duplicate_of"]) for k, r in rej.items()} == {
        "b_near0": ("minhash_duplicate", "a0"),
        "b_near5": ("minhash_duplicate", "a5"),
        "c_near0": ("minhash_duplicate", "a0"),
        "c_short2": ("minhash_duplicate", "c_short"),
    }
    assert rej["b_near0"]["stage"] == "minhash_dedup"
    assert rej["b_near0"]["detail"].startswith("estimated_jaccard=")
    kept = kept_ids(out)
    assert "c_far" in kept and "a7" in kept and "c_short" in kept
    assert len(kept) == 40 + 32 + 4 - 4
    stats = json.loads((out / "stats.json").read_text())["stages"]["minhash_dedup"]
    assert stats["dropped_minhash_duplicate"] == 4
    report = json.loads((out / "reports" / "minhash_dedup.json").read_text())
    assert report["clusters"] == 3 and report["removed"] == 4
    assert report["cluster_sizes"] == {"2": 2, "3": 1}
    largest = report["largest_clusters"]
    assert [(c["size"], c["removed"], c["giant"], c["kept"]["id"], [m["id"] for m in c["examples"]])
            for c in largest] == [(3, 2, False, "a0", ["b_near0", "c_near0"]), (2, 1, False, "a5", ["b_near5"]),
                                  (2, 1, False, "c_short", ["c_short2"])]
    # the start of each text, and the similarity the rejected row gives
    assert largest[0]["kept"] == {"id": "a0", "chars": len(prose(0)), "text": prose(0)[:200]}
    near = largest[0]["examples"][0]
    assert near["text"] == edit(prose(0), 3, seed=1)[:200] and len(near["text"]) == 200
    assert rej["b_near0"]["detail"] == f"estimated_jaccard={near['similarity']:.3f}"
    assert largest[2]["examples"][0]["text"] == "Tiny, note!"
    assert {"kept": "a0", "removed": "b_near0"} == {k: report["examples"][0][k] for k in ("kept", "removed")}
    assert not (out / "dedup_report.json").exists()  # one report, where the run folder's layout puts it


def test_unrelated_documents_never_merged(tmp_path):
    write_jsonl(tmp_path / "in" / "x.jsonl", [(f"u{i}", prose(5000 + i, words=60)) for i in range(300)])
    run_stages(tmp_path / "in", tmp_path / "out", [{"minhash_dedup": {}}])
    assert len(kept_ids(tmp_path / "out")) == 300
    assert rejected(tmp_path / "out") == {}


def _part_bytes(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("part-*"))} | {
        p.name: p.read_bytes() for p in sorted((out / "rejected").glob("*"))}


def test_identical_output_for_1_and_2_workers_and_reruns(corpus, tmp_path):
    stages = [{"exact_dedup": {}}, {"minhash_dedup": {}}]
    run_stages(corpus, tmp_path / "w1", stages, workers=1)
    run_stages(corpus, tmp_path / "w2", stages, workers=2)
    run_stages(corpus, tmp_path / "again", stages, workers=1)
    one = _part_bytes(tmp_path / "w1")
    assert len(one) == 3 + 2  # three parts, rejected files for the two units with duplicates
    assert one == _part_bytes(tmp_path / "w2") == _part_bytes(tmp_path / "again")
    report = [(tmp_path / run / "reports" / "minhash_dedup.json").read_bytes() for run in ("w1", "w2", "again")]
    assert b'"examples"' in report[0] and report[0] == report[1] == report[2]  # cluster examples too


def test_keep_longest_and_verify(corpus, tmp_path):
    out = tmp_path / "out"
    run_stages(corpus, out, [{"minhash_dedup": {"keep": "longest", "verify": True}}])
    rej = rejected(out)
    # the boilerplate copy is longer than a5, so it is kept and a5 goes
    assert rej["a5"]["duplicate_of"] == "b_near5"
    assert rej["a5"]["detail"].startswith("jaccard=")
    assert "b_near5" in kept_ids(out)
    assert json.loads((out / "reports" / "minhash_dedup.json").read_text())["verified_pairs"] >= 3


def test_verification_rejects_candidates_below_threshold(tmp_path):
    base = prose(42)
    near = edit(base, 12, seed=9)  # ~12 of 120 words changed: Jaccard ~0.6
    write_jsonl(tmp_path / "in" / "x.jsonl", [("orig", base), ("near", near)])
    # a loose LSH (20 bands x 2 rows) makes them candidates; verification at 0.8 says no, by the
    # signatures' estimate (default) and by the exact shingle Jaccard (verify)
    loose = {"bands": 20, "rows": 2, "num_perm": 40, "threshold": 0.8}
    run_stages(tmp_path / "in", tmp_path / "plain", [{"minhash_dedup": loose}])
    run_stages(tmp_path / "in", tmp_path / "checked", [{"minhash_dedup": {**loose, "verify": True}}])
    assert rejected(tmp_path / "plain") == rejected(tmp_path / "checked") == {}
    for out in ("plain", "checked"):
        report = json.loads((tmp_path / out / "reports" / "minhash_dedup.json").read_text())
        assert report["candidate_pairs"] == report["rejected_pairs"] == 1


def test_incremental_index_finds_duplicates_of_earlier_batch(tmp_path):
    index = tmp_path / "index"
    write_jsonl(tmp_path / "batch1" / "x.jsonl", [(f"old{i}", prose(300 + i)) for i in range(20)])
    write_jsonl(tmp_path / "batch2" / "y.jsonl", [("new0", prose(900)), ("new_dup", edit(prose(305), 2, seed=4)),
                                                  ("new_dup2", edit(prose(900), 1, seed=5))])
    stage = {"minhash_dedup": {"index_dir": str(index)}}
    run_stages(tmp_path / "batch1", tmp_path / "out1", [stage])
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["n_docs"] == 20 and manifest["generation"] == 1
    run_stages(tmp_path / "batch2", tmp_path / "out2", [stage])
    rej = rejected(tmp_path / "out2")
    assert {k: r["duplicate_of"] for k, r in rej.items()} == {"new_dup": "old5", "new_dup2": "new0"}
    assert kept_ids(tmp_path / "out2") == ["new0"]
    # the report's clusters: an indexed keeper has no text in this run, its removed copy has
    largest = json.loads((tmp_path / "out2" / "reports" / "minhash_dedup.json").read_text())["largest_clusters"]
    old5 = next(c for c in largest if c["kept"]["id"] == "old5")
    assert old5["kept"]["text"] is None and old5["examples"][0]["text"] == edit(prose(305), 2, seed=4)[:200]
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["n_docs"] == 21 and manifest["generation"] == 2
    assert [p.name for p in index.glob("gen-*")] == ["gen-000002"]
    # a third batch sees documents that the second one added
    write_jsonl(tmp_path / "batch3" / "z.jsonl", [("newer", edit(prose(900), 2, seed=6))])
    run_stages(tmp_path / "batch3", tmp_path / "out3", [stage])
    assert rejected(tmp_path / "out3")["newer"]["duplicate_of"] == "new0"


def test_index_with_other_parameters_is_refused(tmp_path):
    write_jsonl(tmp_path / "in" / "x.jsonl", [("a", prose(1))])
    run_stages(tmp_path / "in", tmp_path / "o1", [{"minhash_dedup": {"index_dir": str(tmp_path / "ix")}}])
    with pytest.raises(ValueError, match="other MinHash parameters"):
        run_stages(tmp_path / "in", tmp_path / "o2",
                   [{"minhash_dedup": {"index_dir": str(tmp_path / "ix"), "ngram": 3}}])


def test_giant_cluster_keeps_documents_unlike_the_keeper(tmp_path):
    # a chain: each text shares most words with the next, the ends share little
    base = prose(77, words=200).split()
    rng = __import__("random").Random(3)
    chain = [base]
    for _ in range(7):
        nxt = list(chain[-1])
        for _ in range(6):
            nxt[rng.randrange(len(nxt))] = "zz" + str(rng.randrange(10**6))
        chain.append(nxt)
    write_jsonl(tmp_path / "in" / "x.jsonl", [(f"c{i}", " ".join(w)) for i, w in enumerate(chain)])
    loose = {"bands": 28, "rows": 4, "max_cluster_size": 3}
    run_stages(tmp_path / "in", tmp_path / "out", [{"minhash_dedup": loose}])
    report = json.loads((tmp_path / "out" / "reports" / "minhash_dedup.json").read_text())
    assert report["giant_clusters"] == 1 and report["giant_cluster_documents_kept"] >= 1
    [cluster] = report["largest_clusters"]
    assert (cluster["size"], cluster["giant"], cluster["kept"]["id"]) == (8, True, "c0")
    assert cluster["removed"] == 8 - 1 - report["giant_cluster_documents_kept"]  # the rescued ones stay
    assert "c7" in kept_ids(tmp_path / "out")


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="keep"):
        MinhashDedup(keep="random")
    with pytest.raises(ValueError, match="exceeds num_perm"):
        MinhashDedup(bands=20, rows=8)


def test_reduce_redone_after_publishing_the_index_gives_the_same_decisions(tmp_path):
    """A crash between writing the index and the runner's reduce marker must not make
    the redone reduce see this run's own documents in the index."""
    from pathlib import Path

    index = tmp_path / "index"
    write_jsonl(tmp_path / "b1" / "x.jsonl", [(f"old{i}", prose(600 + i)) for i in range(5)])
    write_jsonl(tmp_path / "b2" / "y.jsonl", [("new", prose(700)), ("dup", edit(prose(601), 1, seed=1))])
    stage = {"minhash_dedup": {"index_dir": str(index)}}
    run_stages(tmp_path / "b1", tmp_path / "o1", [stage])
    run_stages(tmp_path / "b2", tmp_path / "o2", [stage])
    workdir = tmp_path / "o2" / "_work" / "stages" / "minhash_dedup"
    before = (workdir / "drops-00000.json").read_text()
    again = MinhashDedup(index_dir=str(index))
    report = again.reduce(StageContext(workdir=Path(workdir), unit=0, n_units=1))
    assert report["removed"] == 1
    assert (workdir / "drops-00000.json").read_text() == before
    assert json.loads(before)["duplicate_of"] == ["old1"]
    assert json.loads((index / "manifest.json").read_text())["n_docs"] == 6


def test_indexed_document_stays_keeper_even_when_shorter(tmp_path):
    index = tmp_path / "index"
    write_jsonl(tmp_path / "b1" / "x.jsonl", [("old", prose(800))])
    write_jsonl(tmp_path / "b2" / "y.jsonl", [("longer", prose(800) + " and a few more words")])
    stage = {"minhash_dedup": {"index_dir": str(index), "keep": "longest"}}
    run_stages(tmp_path / "b1", tmp_path / "o1", [stage])
    run_stages(tmp_path / "b2", tmp_path / "o2", [stage])
    assert rejected(tmp_path / "o2")["longer"]["duplicate_of"] == "old"


def test_empty_units_and_wordless_documents(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [("a", prose(1)), ("p1", "?!"), ("p2", "...")])
    (tmp_path / "in" / "b.jsonl").write_text("")
    write_jsonl(tmp_path / "in" / "c.jsonl", [("c", edit(prose(1), 1, seed=3))])
    run_stages(tmp_path / "in", tmp_path / "out", [{"minhash_dedup": {}}])
    # documents without words are kept (not merged with each other) and counted
    assert kept_ids(tmp_path / "out") == ["a", "p1", "p2"]
    assert rejected(tmp_path / "out")["c"]["duplicate_of"] == "a"
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())["stages"]["minhash_dedup"]
    assert stats["no_words"] == 2


def test_reduce_runs_one_task_per_band_on_the_executor(corpus, tmp_path):
    """The reduce hands each LSH band, then each range of pairs, to the run's executor as its
    own task (real worker processes here); the decisions equal an in-process reduce, whatever order bands finish in."""
    from pathlib import Path

    from corpuskit.execute.local import LocalExecutor
    from corpuskit.stages.dedup.spill import BandTask

    out = tmp_path / "out"
    run_stages(corpus, out, [{"minhash_dedup": {}}])
    workdir = Path(out / "_work" / "stages" / "minhash_dedup")
    drops = {p.name: p.read_text() for p in sorted(workdir.glob("drops-*.json"))}
    seen = []

    with LocalExecutor(2) as executor:
        def recording_map(fn, tasks):
            seen.extend(tasks)
            return reversed(list(executor.map(fn, tasks)))  # a different arrival order

        stage = MinhashDedup()
        report = stage.reduce(StageContext(workdir=workdir, unit=0, n_units=3, map=recording_map))
    bands = [t for t in seen if isinstance(t, BandTask)]
    assert [t.band for t in bands] == list(range(stage.bands))
    assert [t.range for t in seen[len(bands):]] == list(range(len(seen) - len(bands)))  # then the ranges
    assert report["removed"] == 4
    assert {p.name: p.read_text() for p in sorted(workdir.glob("drops-*.json"))} == drops


def test_report_page_shows_rejected_pairs_and_chaining(tmp_path):
    from corpuskit.report.build import render_report

    base = prose(42)
    write_jsonl(tmp_path / "in" / "x.jsonl", [("orig", base), ("near", edit(base, 12, seed=9))])
    loose = {"bands": 20, "rows": 2, "num_perm": 40, "threshold": 0.8}
    run_stages(tmp_path / "in", tmp_path / "out", [{"minhash_dedup": loose}])
    assert "1 of 1 candidate pairs below the threshold not linked; 0 removed through a chain" in \
        render_report(tmp_path / "out")


def test_report_page_names_the_largest_clusters_and_flags_a_giant_one(tmp_path):
    from corpuskit.report.build import render_report

    base = prose(11)
    copies = [("orig", base)] + [(f"copy{i}", edit(base, 1, seed=i)) for i in range(5)]
    write_jsonl(tmp_path / "in" / "x.jsonl", copies + [("other", prose(12)), ("other2", edit(prose(12), 1, seed=1))])
    run_stages(tmp_path / "in", tmp_path / "out", [{"minhash_dedup": {"max_cluster_size": 4}}])
    page = render_report(tmp_path / "out")
    assert "largest: 6 documents kept as orig (over max_cluster_size), 2 documents kept as other" in page


def test_template_repeated_far_past_max_cluster_size_is_reported_with_examples(tmp_path):
    """A template page in 300 copies (max_cluster_size 10) is the largest cluster, flagged, with
    the start of its kept text and of two removed copies, in the JSON and on the report page."""
    from corpuskit.report.build import render_report

    template = "<b>Cookies & consent</b> " + prose(7, words=60)
    docs = [(f"u{i}", prose(900 + i)) for i in range(20)]
    docs[5:5] = [(f"t{i}", f"{template} Page {i}.") for i in range(300)]  # digits fold: the same shingles
    docs += [("u0-copy", edit(prose(900), 2, seed=4))]
    write_jsonl(tmp_path / "in" / "x.jsonl", docs)
    run_stages(tmp_path / "in", tmp_path / "out", [{"minhash_dedup": {"max_cluster_size": 10}}])
    report = json.loads((tmp_path / "out" / "reports" / "minhash_dedup.json").read_text())
    top, second = report["largest_clusters"]
    assert (top["size"], top["removed"], top["giant"]) == (300, 299, True)  # reported, not silently collapsed
    assert top["kept"] == {"id": "t0", "chars": len(template) + 8, "text": (template + " Page 0.")[:200]}
    assert [(m["id"], m["similarity"], m["text"]) for m in top["examples"]] == [
        ("t1", 1.0, (template + " Page 1.")[:200]), ("t2", 1.0, (template + " Page 2.")[:200])]
    assert (second["kept"]["id"], [m["id"] for m in second["examples"]]) == ("u0", ["u0-copy"])
    page = render_report(tmp_path / "out")
    assert "300 documents, 299 removed, kept" in page and "over max_cluster_size" in page
    assert "&lt;b&gt;Cookies &amp; consent&lt;/b&gt; " + prose(7, words=60)[:40] in page  # escaped
