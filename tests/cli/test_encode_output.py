"""``textsiam encode``'s ``.npy``: written in order (no memory map: a full disk is an error, not a ``SIGBUS``), its
space reserved before anything is encoded, and never left half-written."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from textsiam import SiameseModel
from textsiam.cli import main


@pytest.fixture
def lines(tmp_path):
    src = tmp_path / "sentences.txt"
    src.write_text("".join(f"line number {i}\n" for i in range(25)), encoding="utf-8")
    return src


def test_a_full_disk_fails_before_encoding_and_leaves_nothing(tiny_model_dir, lines, tmp_path, monkeypatch, capsys):
    def full(fd, offset, size):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def never(*args, **kwargs):
        raise AssertionError("encoded although the embeddings cannot be stored")

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    monkeypatch.setattr(SiameseModel, "encode", never)
    out = tmp_path / "emb.npy"
    assert main(["encode", str(lines), "-o", str(out), "--model", str(tiny_model_dir), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("textsiam encode: error: ") and "No space left on device" in err and "GB" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sentences.txt"]  # no output, no temp file


def test_a_file_system_that_cannot_reserve_still_gets_the_embeddings(tiny_model_dir, lines, tmp_path, monkeypatch):
    def unsupported(fd, offset, size):
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "posix_fallocate", unsupported, raising=False)
    out = tmp_path / "emb.npy"
    assert main(["encode", str(lines), "-o", str(out), "--model", str(tiny_model_dir), "-q", "--chunk-size", "7"]) == 0
    model = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    texts = lines.read_text(encoding="utf-8").splitlines()
    np.testing.assert_allclose(np.load(out), model.encode(texts), atol=1e-5)


def test_the_npy_file_is_exactly_the_array(tiny_model_dir, lines, tmp_path):
    out = tmp_path / "emb.npy"
    assert main(["encode", str(lines), "-o", str(out), "--model", str(tiny_model_dir), "-q", "--chunk-size", "10"]) == 0
    emb = np.load(out)
    assert emb.dtype == np.float32 and emb.shape[0] == 25 and emb.flags.c_contiguous
    header = 128  # numpy's version 1.0 header, padded to 64 bytes, for a 2-D float32 array
    assert out.stat().st_size == header + emb.nbytes  # the reservation adds nothing past the rows
    mapped = np.load(out, mmap_mode="r")
    np.testing.assert_array_equal(mapped, emb)


def test_a_file_that_shrinks_while_encoded_is_an_error(tiny_model_dir, lines, tmp_path, monkeypatch, capsys):
    from textsiam.cli import common

    counted = common.count
    monkeypatch.setattr(common, "count", lambda it: counted(it) + 3)  # as if 3 lines went away after counting
    out = tmp_path / "emb.npy"
    assert main(["encode", str(lines), "-o", str(out), "--model", str(tiny_model_dir), "-q"]) == 2
    assert "changed while it was encoded" in capsys.readouterr().err
    assert not out.exists()
