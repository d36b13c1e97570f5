from helpers.dedup import kept_ids, prose, rejected, run_stages, write_jsonl


def test_exact_duplicates_keep_first_in_input_order(tmp_path):
    t = prose(1)
    write_jsonl(tmp_path / "in" / "a.jsonl", [("a0", t), ("a1", prose(2)), ("a2", t.upper())])
    write_jsonl(tmp_path / "in" / "b.jsonl", [("b0", "  " + t.replace(" ", "\n") + " "), ("b1", prose(2)),
                                              ("b2", prose(3))])
    run_stages(tmp_path / "in", tmp_path / "out", [{"exact_dedup": {}}], workers=2)
    rej = rejected(tmp_path / "out")
    assert {k: (r["reason"], r["duplicate_of"]) for k, r in rej.items()} == {
        "a2": ("exact_duplicate", "a0"), "b0": ("exact_duplicate", "a0"), "b1": ("exact_duplicate", "a1")}
    assert kept_ids(tmp_path / "out") == ["a0", "a1", "b2"]


def test_exact_case_sensitive_option(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [("x", "Hello there"), ("y", "hello there"), ("z", "Hello  there")])
    run_stages(tmp_path / "in", tmp_path / "out", [{"exact_dedup": {"lowercase": False}}])
    assert kept_ids(tmp_path / "out") == ["x", "y"]
    assert rejected(tmp_path / "out")["z"]["duplicate_of"] == "x"


def test_exact_with_an_empty_unit(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [("x", "same text here")])
    (tmp_path / "in" / "b.jsonl").write_text("")
    write_jsonl(tmp_path / "in" / "c.jsonl", [("y", "same text here")])
    run_stages(tmp_path / "in", tmp_path / "out", [{"exact_dedup": {}}])
    assert kept_ids(tmp_path / "out") == ["x"]
