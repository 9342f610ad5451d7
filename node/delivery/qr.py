"""QR codes of offer links: inline SVG for the learner's page, PNG files and terminal text for
the institution's CLI. Error correction M: a printed or screen-shown code survives some glare."""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage


def _code(data: str, border: int = 2) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border)
    code.add_data(data)
    code.make(fit=True)
    return code


def svg(data: str) -> str:
    """An `<svg>` element (no XML prolog) to inline in HTML; scales with its container."""
    image = _code(data).make_image(image_factory=SvgPathImage)
    raw = image.to_string(encoding="unicode")
    text = raw if isinstance(raw, str) else raw.decode()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def png(data: str, path: Path) -> Path:
    """Write a PNG of the code (10 px modules) to `path`."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(data)
    code.make(fit=True)
    path.write_bytes(_png_bytes(code))
    return path


def _png_bytes(code: qrcode.QRCode) -> bytes:
    from qrcode.image.pure import PyPNGImage

    buffer = io.BytesIO()
    code.make_image(image_factory=PyPNGImage).save(buffer)
    return buffer.getvalue()


def terminal(data: str) -> str:
    """The code as text (two modules per character row) for a terminal."""
    buffer = io.StringIO()
    _code(data, border=1).print_ascii(out=buffer, invert=True)
    return buffer.getvalue()
