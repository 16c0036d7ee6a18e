"""The saturation curve as a PNG image, written with the standard library only (zlib).

A plot is a small raster: signatures reached so far against executions (a line), new
signatures per curve step (bars), the start of the last 20 % of the budget (a dashed line:
saturated = no bar after it), axis ticks and a title in a built-in 5x7 pixel font. No
plotting library: the CI install stays small and the bytes are deterministic.

PNG (ISO/IEC 15948): signature, IHDR (width, height, bit depth 8, colour type 2 = RGB),
one IDAT with the zlib-compressed scanlines (filter byte 0 each), IEND; every chunk
carries the CRC-32 of its type and data.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

from zonesim.coverage.font import glyph

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (170, 170, 170)
BLUE = (31, 119, 180)
ORANGE = (255, 187, 120)
RED = (214, 39, 40)

class Canvas:
    """An RGB raster with the few primitives a chart needs."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.rows = [bytearray(WHITE * width) for _ in range(height)]

    def dot(self, x: int, y: int, rgb: tuple[int, int, int]) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.rows[y][3 * x:3 * x + 3] = bytes(rgb)

    def rect(self, x0: int, y0: int, x1: int, y1: int, rgb: tuple[int, int, int]) -> None:
        """Filled, corners inclusive."""
        x0, x1 = max(0, min(x0, x1)), min(self.width - 1, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height - 1, max(y0, y1))
        if x0 > x1:
            return
        span = bytes(rgb) * (x1 - x0 + 1)
        for y in range(y0, y1 + 1):
            self.rows[y][3 * x0:3 * x1 + 3] = span

    def line(self, x0: int, y0: int, x1: int, y1: int, rgb: tuple[int, int, int],
             dash: int = 0) -> None:
        """Bresenham; ``dash`` > 0 draws ``dash`` pixels on, ``dash`` off."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err, n = dx + dy, 0
        while True:
            if not dash or (n // dash) % 2 == 0:
                self.dot(x0, y0, rgb)
            n += 1
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, s: str, rgb: tuple[int, int, int] = BLACK) -> None:
        """``s`` with its top-left corner at (x, y); 6 pixels per character."""
        for ch in s:
            for r, bits in enumerate(glyph(ch)):
                for c in range(5):
                    if bits & (1 << (4 - c)):
                        self.dot(x + c, y + r, rgb)
            x += 6

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)
        return (PNG_SIGNATURE
                + _chunk(b"IHDR", struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0))
                + _chunk(b"IDAT", zlib.compress(raw, 9))
                + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def text_width(s: str) -> int:
    return 6 * len(s)


def saturation_png(new_per_execution: Sequence[int], per: int, title: str, *,
                   tail: float = 0.2, width: int = 720, height: int = 420) -> bytes:
    """The saturation plot of an exploration (see the module docstring)."""
    c = Canvas(width, height)
    left, right, top, bottom = 64, width - 24, 40, height - 48
    n = len(new_per_execution)
    total = sum(new_per_execution)
    ymax = max(1, total)
    xmax = max(1, n)

    def px(e: float) -> int:
        return left + round((right - left) * e / xmax)

    def py(v: float) -> int:
        return bottom - round((bottom - top) * v / ymax)

    # bars: new signatures per curve step, drawn over the executions they cover
    for start in range(0, n, per):
        v = sum(new_per_execution[start:start + per])
        if v:
            c.rect(px(start) + 1, py(v), px(min(n, start + per)) - 1, bottom - 1, ORANGE)
    # the cumulative line
    seen, prev = 0, (px(0), py(0))
    for i, v in enumerate(new_per_execution):
        seen += v
        cur = (px(i + 1), py(seen))
        c.line(prev[0], prev[1], cur[0], prev[1], BLUE)
        c.line(cur[0], prev[1], cur[0], cur[1], BLUE)
        prev = cur
    # start of the tail that must add nothing
    xt = px(n * (1 - tail))
    c.line(xt, top, xt, bottom, RED, dash=4)
    c.text(xt + 4, top + 2, f"last {tail:.0%}", RED)
    # axes, ticks, labels
    c.line(left, bottom, right, bottom, BLACK)
    c.line(left, top, left, bottom, BLACK)
    for k in range(5):
        e = round(xmax * k / 4)
        x = px(e)
        c.line(x, bottom, x, bottom + 4, BLACK)
        label = str(e)
        c.text(x - text_width(label) // 2, bottom + 8, label)
        v = round(ymax * k / 4)
        y = py(v)
        c.line(left - 4, y, left, y, BLACK)
        label = str(v)
        c.text(left - 8 - text_width(label), y - 3, label)
    xl = "executions"
    c.text((left + right - text_width(xl)) // 2, bottom + 24, xl)
    c.text(8, top - 14, "signatures", BLUE)
    c.text(left + 100, top - 14, f"new per {per} executions", (230, 120, 40))
    c.text(left, 10, title[: (width - left) // 6])
    return c.png()
