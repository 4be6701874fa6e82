"""polars' jemalloc control call (``mallctl``), found in its library's symbol table.

polars links jemalloc in with its symbols prefixed ``_rjem_`` and does not export them:
``dlsym`` cannot find ``_rjem_mallctl``. Its library keeps a full symbol table (``.symtab``)
though, so the call's address is the library's load address (from ``/proc/self/maps``) plus
the symbol's value there. :func:`mallctl` returns it only when every step checks out: Linux,
a 64-bit little-endian ELF shared object, one function symbol of that name, its address in
an executable mapping of that very file, and the call then answering jemalloc's ``version``
with a version string; else None, and nothing is called (decision 0039).
"""

from __future__ import annotations

import ctypes
import mmap
import struct
import sys
from functools import cache
from pathlib import Path

SYMBOL = b"_rjem_mallctl"
_SHT_SYMTAB, _STT_FUNC = 2, 2
_SYM = [("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2"), ("value", "<u8"),
        ("size", "<u8")]
Mallctl = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                           ctypes.c_void_p, ctypes.c_size_t)


@cache
def mallctl() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """polars' ``mallctl``, or None where it cannot be found safely (see the module)."""
    library = _polars_library()
    if library is None or not sys.platform.startswith("linux"):
        return None
    try:
        offset = symbol_value(library, SYMBOL)
        mappings = _mappings(library)
    except (OSError, ValueError, IndexError, struct.error):  # unreadable or not as expected
        return None
    base = next((start for start, _, file_offset, _ in mappings if file_offset == 0), None)
    if offset is None or base is None:
        return None
    address = base + offset
    if not any(start <= address < end and "x" in perms for start, end, _, perms in mappings):
        return None
    call = Mallctl(address)
    return call if _answers_version(call) else None


def _polars_library() -> Path | None:
    module = sys.modules.get("polars._plr")
    path = getattr(module, "__file__", None)
    return Path(path).resolve() if path else None


def symbol_value(path: Path, name: bytes) -> int | None:
    """The value (address relative to the load address) of the one function symbol ``name``
    in the ``.symtab`` of the ELF64 little-endian shared object at ``path``; None if absent
    or not unique."""
    import numpy as np  # here: cjsdash.workers' parent imports this package and must not
    # start numpy's threads before it forks

    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as elf:
        if elf[:6] != b"\x7fELF\x02\x01":  # ELF, 64-bit, little-endian
            raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
        shoff, = struct.unpack_from("<Q", elf, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize)
                    for i in range(shnum)]
        symtab = next((s for s in sections if s[1] == _SHT_SYMTAB), None)
        if symtab is None:
            return None
        strtab = sections[symtab[6]]  # sh_link: the symbol names' string table
        start, end = strtab[4], strtab[4] + strtab[5]
        at = elf.find(b"\x00" + name + b"\x00", start, end)
        if at < 0:
            return None
        symbols = np.frombuffer(elf[symtab[4]:symtab[4] + symtab[5]], dtype=np.dtype(_SYM))
    match = symbols[(symbols["name"] == at + 1 - start) & ((symbols["info"] & 0xF) == _STT_FUNC)]
    return int(match["value"][0]) if len(match) == 1 and match["value"][0] else None


def _mappings(path: Path) -> list[tuple[int, int, int, str]]:
    """(start, end, file offset, permissions) of each mapping of ``path`` in this process."""
    out = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == str(path):
            start, end = (int(x, 16) for x in fields[0].split("-"))
            out.append((start, end, int(fields[2], 16), fields[1]))
    return out


def _answers_version(call: ctypes._CFuncPtr) -> bool:  # type: ignore[name-defined]
    version = ctypes.c_char_p()
    size = ctypes.c_size_t(ctypes.sizeof(version))
    if call(b"version", ctypes.byref(version), ctypes.byref(size), None, 0) != 0:
        return False
    return bool(version.value and version.value[:1].isdigit() and b"." in version.value)
