"""``zonesim explore --coverage`` and ``--coverage-plot FILE.png``."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from zonesim.cli import main
from zonesim.coverage.png import PNG_SIGNATURE

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = str(ROOT / "scenarios" / "findings" / "foreign-undo.toml")


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB PNG with filter 0 rows, checking
    every chunk's CRC: enough to know the file is a PNG an image viewer will show."""
    assert data[:8] == PNG_SIGNATURE
    pos, chunks = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        pos += 12 + n
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    w, h, depth, colour, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, comp, filt, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    assert len(raw) == h * (1 + 3 * w)
    rows = [raw[y * (1 + 3 * w):(y + 1) * (1 + 3 * w)] for y in range(h)]
    assert all(r[0] == 0 for r in rows)
    return w, h, [r[1:] for r in rows]


def test_json_has_the_coverage_fields(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["explore", FOREIGN, "--policy", "v5.15", "--strategy", "pos",
               "--executions", "40", "--coverage", "--json", "--workers", "1"])
    assert rc == 0
    cov = json.loads(capsys.readouterr().out)["coverage"]
    assert set(cov) >= {"signatures", "new_signatures_curve", "curve_per", "saturated",
                        "last_new_signature_at", "switch_points", "windows_never_opened"}
    assert cov["executions"] == 40 and cov["curve_per"] == 100
    assert sum(cov["new_signatures_curve"]) == cov["signatures"] > 0
    assert isinstance(cov["saturated"], bool)


def test_without_coverage_there_is_no_coverage_field(
        capsys: pytest.CaptureFixture[str]) -> None:
    main(["explore", FOREIGN, "--policy", "v5.15", "--executions", "3", "--json",
          "--workers", "1"])
    assert "coverage" not in json.loads(capsys.readouterr().out)


def test_plot_is_a_valid_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "sat.png"
    rc = main(["explore", FOREIGN, "--policy", "v5.15", "--strategy", "pct",
               "--executions", "30", "--coverage-plot", str(png), "--workers", "1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "coverage:" in out and f"saturation curve written to {png}" in out
    w, h, rows = decode_png(png.read_bytes())
    assert (w, h) == (720, 420)
    colours = {row[i:i + 3] for row in rows for i in range(0, len(row), 3)}
    assert bytes((31, 119, 180)) in colours  # the curve was drawn
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: no temp file left


@pytest.mark.parametrize("where", ["missing/dir/x.png", "."])
def test_bad_plot_path_is_one_line_and_exit_2(where: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / where
    rc = main(["explore", FOREIGN, "--executions", "3", "--coverage-plot", str(target),
               "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "--coverage-plot" in err
    assert "Traceback" not in err
    assert list(tmp_path.rglob("*.png")) == []
