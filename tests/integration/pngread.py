"""A PNG reader for the tests, written from the PNG specification (RFC 2083
/ W3C PNG): chunks with their CRCs checked, the image data inflated with
zlib and unfiltered by the five filter types, 8-bit RGB, RGBA and palette
images. Python's standard library only, so a test can look at the pixels a
person would see without an imaging package.
"""
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode(data):
    """(width, height, rows of (r, g, b) tuples)."""
    assert data[:8] == SIGNATURE, "not a PNG signature"
    pos, idat, ihdr, palette = 8, b"", None, None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = [tuple(body[i:i + 3]) for i in range(0, len(body), 3)]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + n
    assert ihdr, "no IHDR"
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 3, 6) and interlace == 0, ihdr
    assert ctype != 3 or palette, "a palette image without PLTE"
    bpp = {2: 3, 3: 1, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    assert len(raw) == h * (stride + 1), "IDAT size does not match IHDR"
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            else:
                assert f == 0, f"unknown filter {f}"
        if ctype == 3:
            rows.append([palette[v] for v in line])
        else:
            rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def decode_file(path):
    with open(path, "rb") as f:
        return decode(f.read())
