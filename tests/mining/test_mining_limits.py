"""#24: mining arguments beyond the corpus (top_k, ef_search) are clamped to it; a work dir that is a file: refused."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("faiss")

from textsiam import mine_duplicates  # noqa: E402
from textsiam.cli import common, main  # noqa: E402
from textsiam.mining import mine_embeddings  # noqa: E402
from textsiam.mining.args import check_neighbour_memory, search_sizes  # noqa: E402

HUGE = 10**9


def test_search_sizes():
    assert search_sizes(3, HUGE, HUGE) == (2, 3)
    assert search_sizes(500, 10, 5) == (10, 11)  # ef_search at least top_k + 1
    assert search_sizes(500, 10, 128) == (10, 128)
    assert search_sizes(1, 10, 128) == (0, 1)
    assert search_sizes(0, 10, 128) == (0, 1)


def test_top_k_beyond_the_corpus_keeps_every_other_text(tiny_model):
    """top_k=10**9 on 3 texts allocated (3, 10**9) neighbour arrays (22 GiB) and was OOM-killed."""
    result = mine_duplicates(["a cat", "a cat", "a dog"], tiny_model, top_k=HUGE, threshold=0.99)
    assert result.neighbours.shape == result.neighbour_scores.shape == (3, 2)
    assert (result.neighbours >= 0).all() and result.stats["top_k"] == 2
    assert result.pairs.tolist()[0] == [0, 1]


def test_ef_search_beyond_the_corpus_is_clamped():
    """ef_search=10**9 made faiss allocate its candidate lists for 10**9 entries: std::bad_alloc."""
    emb = np.random.default_rng(0).standard_normal((40, 16)).astype(np.float32)
    result = mine_embeddings(emb, index="hnsw", top_k=HUGE, ef_search=HUGE, threshold=0.99)
    assert result.stats["index"] == "hnsw" and result.stats["ef_search"] == 40
    assert result.neighbours.shape == (40, 39)


def test_mine_cli_with_huge_k_and_ef_search(tiny_model_dir, tmp_path, capsys):
    src = tmp_path / "t.txt"
    src.write_text("a cat\na cat\na dog\n", encoding="utf-8")
    out = tmp_path / "pairs.tsv"
    argv = ["mine", str(src), "-o", str(out), "-k", str(HUGE), "--index", "hnsw", "--ef-search", str(HUGE)]
    assert main([*argv, "-t", "0.99", "--model", str(tiny_model_dir), "-q"]) == 0, capsys.readouterr().err
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "i\tj\tscore\ttext_a\ttext_b" and lines[1].startswith("0\t1\t")


def test_neighbour_arrays_beyond_the_memory_are_refused_before_encoding(tiny_model):
    """A top_k the corpus allows but the machine cannot hold fails at once, not when the arrays are filled."""
    with pytest.raises(ValueError, match=r"top_k=1000000 neighbours for each of 10000000 texts need .* GB.*memory"):
        check_neighbour_memory(10_000_000, 1_000_000)
    check_neighbour_memory(10_000_000, 10)  # 1.2 GB: fine
    check_neighbour_memory(3, HUGE)  # clamped to 2 neighbours

    class Corpus:
        """Ten million texts that must never be read."""

        def __len__(self) -> int:
            return 10_000_000

        def __iter__(self):  # noqa: ANN204
            pytest.fail("the texts were read before the arguments were refused")

    with pytest.raises(ValueError, match="more than this machine's memory"):
        mine_duplicates(Corpus(), tiny_model, top_k=1_000_000)


# ---------------------------------------------------------------------------------------------- work dir (item 4)
def test_work_dir_that_is_a_file_is_refused(tiny_model, tmp_path):
    blocker = tmp_path / "pairs.tsv"
    blocker.write_text("precious\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"work_dir .*pairs\.tsv is a file, not a folder"):
        mine_duplicates(["a", "b"], tiny_model, work_dir=blocker)
    with pytest.raises(ValueError, match=r"work_dir .*pairs\.tsv is a file, not a folder"):
        mine_embeddings(np.eye(3, dtype=np.float32), work_dir=str(blocker))
    with pytest.raises(ValueError, match="a folder on its path is a file"):
        mine_embeddings(np.eye(3, dtype=np.float32), work_dir=blocker / "sub")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"is a FIFO \(named pipe\), not a folder"):
        mine_embeddings(np.eye(3, dtype=np.float32), work_dir=fifo)
    with pytest.raises(TypeError, match="work_dir must be a folder path"):
        mine_embeddings(np.eye(3, dtype=np.float32), work_dir=3)
    assert blocker.read_text(encoding="utf-8") == "precious\n"
    kept = mine_embeddings(np.eye(3, dtype=np.float32), work_dir=tmp_path / "new" / "work")  # created
    assert os.path.isfile(kept.stats["embeddings_file"])


def test_mine_cli_work_dir_that_is_a_file(tmp_path, monkeypatch, capsys):
    def no_model(args):  # noqa: ANN001, ANN202
        pytest.fail("the model was loaded before --work-dir was refused")

    monkeypatch.setattr(common, "load_model", no_model)
    src = tmp_path / "t.txt"
    src.write_text("a\nb\n", encoding="utf-8")
    blocker = tmp_path / "pairs.tsv"
    blocker.write_text("precious\n", encoding="utf-8")
    code = main(["mine", str(src), "-o", str(tmp_path / "out.tsv"), "--work-dir", str(blocker), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"textsiam mine: error: work_dir {blocker} is a file, not a folder"), err
    assert "File exists" not in err and blocker.read_text(encoding="utf-8") == "precious\n"
