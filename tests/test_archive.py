"""Archives are checked before anything is written: traversal, absolute paths, links, sizes, counts."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest

from nnlab.cli.main import main
from nnlab.core.errors import DataError
from nnlab.data.archive import check_archive, clean_name, extract_cached, safe_extract
from nnlab.store.runs import RunStore


def make_zip(path: Path, entries: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    """A zip of entries (name -> bytes) written as given, names untouched; links as symlink entries."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # S_IFLNK: a symbolic link, as `zip --symlinks` stores it
            zf.writestr(info, target)
    return path


def declare_size(path: Path, name: str, size: int) -> None:
    """Rewrite the uncompressed size a zip declares for entry name (local header and central directory)."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    # (signature, offset of the uncompressed size, of the name's length, of the name) per zip header kind
    for sig, size_at, len_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        pos = data.find(sig)
        while pos >= 0:
            name_len = struct.unpack_from("<H", data, pos + len_at)[0]
            if bytes(data[pos + name_at : pos + name_at + name_len]) == encoded:
                struct.pack_into("<I", data, pos + size_at, size)
            pos = data.find(sig, pos + 4)
    path.write_bytes(bytes(data))


GOOD = {"photos/cats/a.txt": b"cat", "photos/dogs/b.txt": b"dog"}


def test_a_clean_zip_extracts_inside_the_destination_only(tmp_path):
    dest = safe_extract(make_zip(tmp_path / "ok.zip", GOOD), tmp_path / "out")
    assert (dest / "photos" / "cats" / "a.txt").read_bytes() == b"cat"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.zip", "out"]  # no temporary folder left


@pytest.mark.parametrize("name", ["../evil.txt", "photos/../../evil.txt", "..\\evil.txt"])
def test_an_entry_climbing_out_with_dotdot_is_refused_before_extracting(tmp_path, name):
    archive = make_zip(tmp_path / "bad.zip", {**GOOD, name: b"x"})
    with pytest.raises(DataError, match="outside its folder"):
        safe_extract(archive, tmp_path / "out" / "x")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["/tmp/nnlab-abs-evil.txt", "\\evil.txt", "C:/evil.txt"])
def test_an_absolute_path_is_refused(tmp_path, name):
    archive = make_zip(tmp_path / "bad.zip", {name: b"x", **GOOD})
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist()[0] == name  # the archive really holds the absolute name
    with pytest.raises(DataError, match="absolute path"):
        safe_extract(archive, tmp_path / "out")
    assert not Path("/tmp/nnlab-abs-evil.txt").exists()


def test_a_symlink_entry_is_refused(tmp_path):
    archive = make_zip(tmp_path / "bad.zip", GOOD, links={"photos/cats/passwd": "/etc/passwd"})
    with pytest.raises(DataError, match="link entry"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_huge_declared_size_is_refused_before_extracting(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {**GOOD, "photos/cats/big.bin": b"\0" * 1000})
    declare_size(archive, "photos/cats/big.bin", 0xFFFFFF00)  # claims ~4.3 GB
    assert check_archive(archive, max_bytes=10**13)[-1].size == 0xFFFFFF00
    with pytest.raises(DataError, match="unpacks to 4.3 GB, more than the limit"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_entry_larger_than_it_declares_is_stopped(tmp_path):
    archive = make_zip(tmp_path / "liar.zip", {**GOOD, "photos/cats/big.bin": b"\0" * 100_000})
    declare_size(archive, "photos/cats/big.bin", 10)
    with pytest.raises(DataError, match="big.bin"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["liar.zip"]


def test_too_many_entries_or_bytes_are_refused(tmp_path):
    archive = make_zip(tmp_path / "many.zip", {f"d/{i}.txt": b"abc" for i in range(20)})
    with pytest.raises(DataError, match="20 entries, more than the limit of 10"):
        check_archive(archive, max_files=10)
    with pytest.raises(DataError, match="more than the limit"):
        check_archive(archive, max_bytes=50)
    assert len(check_archive(archive)) == 20


def test_an_encrypted_or_damaged_zip_is_refused(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", GOOD)
    data = bytearray(archive.read_bytes())
    data[data.find(b"PK\x01\x02") + 8] |= 1  # the central directory's "encrypted" flag
    (tmp_path / "enc.zip").write_bytes(bytes(data))
    with pytest.raises(DataError, match="encrypted"):
        check_archive(tmp_path / "enc.zip")
    (tmp_path / "cut.zip").write_bytes(archive.read_bytes()[:-30])
    with pytest.raises(DataError, match="not a readable"):
        check_archive(tmp_path / "cut.zip")


def _tar(path: Path, *infos: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in infos:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("../evil.txt", tarfile.REGTYPE, "outside its folder"),
        ("/etc/evil.txt", tarfile.REGTYPE, "absolute path"),
        ("cats/link", tarfile.SYMTYPE, "link or special entry"),
        ("cats/hard", tarfile.LNKTYPE, "link or special entry"),
        ("cats/dev", tarfile.CHRTYPE, "link or special entry"),
    ],
)
def test_tar_archives_get_the_same_checks(tmp_path, name, kind, message):
    bad = tarfile.TarInfo(name)
    bad.type, bad.linkname = kind, "/etc/passwd"
    archive = _tar(tmp_path / "bad.tar.gz", (tarfile.TarInfo("cats/a.txt"), b"cat"), (bad, b""))
    with pytest.raises(DataError, match=message):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_a_clean_tar_extracts_and_keep_filters_entries(tmp_path):
    archive = _tar(tmp_path / "ok.tar.gz", (tarfile.TarInfo("./a/x.txt"), b"x"), (tarfile.TarInfo("b/y.txt"), b"y"))
    dest = safe_extract(archive, tmp_path / "out", keep=lambda n: n.startswith("a/"))
    assert (dest / "a" / "x.txt").read_bytes() == b"x" and not (dest / "b").exists()


def test_clean_name_normalises_harmless_parts():
    assert clean_name("./photos//cats/./a.jpg", "z.zip") == "photos/cats/a.jpg"
    assert clean_name("photos\\cats\\a.jpg", "z.zip") == "photos/cats/a.jpg"


def test_extraction_is_cached_by_content(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", GOOD)
    first = extract_cached(archive, tmp_path / "cache")
    (first / "marker").write_text("same folder")
    assert extract_cached(archive, tmp_path / "cache") == first and (first / "marker").exists()


def test_a_malicious_image_zip_is_refused_in_one_sentence_and_writes_nothing_outside(tmp_path, capsys, workspace):
    archive = make_zip(tmp_path / "photos.zip", {**GOOD, "../../evil.png": b"x"})
    code = main(
        [
            "train",
            "--arch",
            "cnn",
            "--dataset",
            "image-folder",
            "--data",
            str(archive),
            "--epochs",
            "1",
            "--json",
            "--store",
            str(workspace),
        ]
    )
    out = capsys.readouterr()
    assert code == 2 and out.out == "" and out.err.count("\n") == 1  # refused before a run was created
    assert "photos.zip" in out.err and "outside its folder" in out.err
    assert RunStore(workspace).list() == []
    assert not list(tmp_path.rglob("evil.png"))
    assert not (workspace / "data" / "extracted").exists() or not any((workspace / "data" / "extracted").iterdir())


def test_names_a_mac_zips_in_utf_8_without_saying_so_are_read_as_written(tmp_path, monkeypatch):
    """macOS's Archive Utility writes names in UTF-8 without the zip's UTF-8 flag; zipfile read them as cp437, so a
    class folder 'crêpe' (decomposed, as macOS writes it) became the class 'cre╠épe'."""
    import unicodedata

    def written_in(encoding: str, path: Path, name: str) -> None:
        with monkeypatch.context() as m:  # the name's bytes in that encoding, the UTF-8 flag off
            m.setattr(zipfile.ZipInfo, "_encodeFilenameFlags", lambda info: (info.filename.encode(encoding), 0))
            make_zip(path, {name: b"x"})

    written_in("utf-8", tmp_path / "mac.zip", unicodedata.normalize("NFD", "Desserts/crêpe/été.png"))
    with zipfile.ZipFile(tmp_path / "mac.zip") as zf:
        assert zf.infolist()[0].flag_bits & 0x800 == 0
    assert unicodedata.normalize("NFC", check_archive(tmp_path / "mac.zip")[0].name) == "Desserts/crêpe/été.png"
    written_in("cp437", tmp_path / "dos.zip", "café/a.png")  # an old Windows zip: é as 0x82, not valid UTF-8
    assert check_archive(tmp_path / "dos.zip")[0].name == "café/a.png"
