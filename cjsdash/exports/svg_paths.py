"""SVG path data (``d``): read into commands, moved by a translation, written back, measured.

:mod:`.svg_compact` folds plotly's ``transform="translate(x,y)"`` into a path's own
coordinates so that many small paths of one style (a chart's markers, grid lines, ticks) can
be drawn as one; the tests use :func:`subpaths` to show that the compacted chart draws the
same shapes. Pure functions; numbers are written with at most :data:`DECIMALS` decimals (a
hundredth of a pixel of a 1100-pixel chart).
"""

from __future__ import annotations

import math
import re

DECIMALS = 2

# How many numbers each command takes, and which of them are x and y coordinates
# (absolute commands move; lower-case ones are relative and do not).
ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}
_XS = {"M": (0,), "L": (0,), "H": (0,), "V": (), "C": (0, 2, 4), "S": (0, 2), "Q": (0, 2),
       "T": (0,), "A": (5,), "Z": ()}
_YS = {"M": (1,), "L": (1,), "H": (), "V": (0,), "C": (1, 3, 5), "S": (1, 3), "Q": (1, 3),
       "T": (1,), "A": (6,), "Z": ()}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SKIP = re.compile(r"[\s,]*")

Command = tuple[str, tuple[float, ...]]


class PathError(ValueError):
    """Path data this module does not read (it is then left as it was)."""


def parse(d: str) -> list[Command]:
    """``"M0,64v346"`` → ``[("M", (0.0, 64.0)), ("v", (346.0,))]``: one entry per command
    and argument group (``"L1,2 3,4"`` is two ``L``; the pairs after a moveto are linetos, as
    the SVG grammar says). An arc's two flags may be written without separators."""
    out: list[Command] = []
    i, n = _SKIP.match(d, 0).end(), len(d)
    command = ""
    while i < n:
        char = d[i]
        if char.isalpha():
            command = char
            if command.upper() not in ARITY:
                raise PathError(f"unknown path command {command!r}")
            i = _SKIP.match(d, i + 1).end()
            if command in "Zz":
                out.append((command, ()))
                continue
        elif not command or command in "Zz":
            raise PathError(f"a number with no command at {i}: {d[i:i + 20]!r}")
        args: list[float] = []
        for k in range(ARITY[command.upper()]):
            if command in "Aa" and k in (3, 4):
                if i >= n or d[i] not in "01":
                    raise PathError(f"an arc flag must be 0 or 1 at {i}")
                args.append(float(d[i]))
                i += 1
            else:
                match = _NUMBER.match(d, i)
                if match is None:
                    raise PathError(f"expected a number at {i}: {d[i:i + 20]!r}")
                args.append(float(match.group()))
                i = match.end()
            i = _SKIP.match(d, i).end()
        out.append((command, tuple(args)))
        if command == "M":
            command = "L"
        elif command == "m":
            command = "l"
    return out


def number(value: float) -> str:
    """A coordinate as short text: at most :data:`DECIMALS` decimals, no trailing zeros."""
    text = f"{round(value, DECIMALS):.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def write(commands: list[Command]) -> str:
    """The path data of ``commands`` (the inverse of :func:`parse`, numbers shortened)."""
    parts = []
    for command, args in commands:
        if command in "Aa":
            rx, ry, rotation, large, sweep, x, y = args
            text = (f"{number(rx)},{number(ry)} {number(rotation)} {int(large)},{int(sweep)} "
                    f"{number(x)},{number(y)}")
        else:
            text = ",".join(number(a) for a in args)
        parts.append(command + text)
    return "".join(parts)


def translate(d: str, dx: float, dy: float) -> str:
    """``d`` moved by (dx, dy): what ``transform="translate(dx,dy)"`` does to it.

    Absolute coordinates move; relative ones do not, except a leading relative moveto, whose
    first pair is absolute by the SVG grammar (it is written as an absolute ``M`` so the path
    can follow another path's data)."""
    out: list[Command] = []
    for index, (command, args) in enumerate(parse(d)):
        if index == 0 and command == "m":
            command = "M"
        upper = command.upper()
        if command == upper:  # absolute
            moved = list(args)
            for k in _XS[upper]:
                moved[k] += dx
            for k in _YS[upper]:
                moved[k] += dy
            args = tuple(moved)
        out.append((command, args))
    return write(out)


def subpaths(d: str, dx: float = 0.0, dy: float = 0.0) -> list[list[tuple[float, float]]]:
    """Each subpath of ``d`` (moved by dx, dy) as its absolute points: every end point and
    control point, and an arc's radii as the points its box reaches. What a test compares to
    show that two SVGs draw the same shapes."""
    shapes: list[list[tuple[float, float]]] = []
    x = y = start_x = start_y = 0.0
    for command, args in parse(d):
        upper, relative = command.upper(), command.islower()
        ox, oy = (x, y) if relative else (0.0, 0.0)
        if upper == "Z":
            x, y = start_x, start_y
            continue
        if upper == "M" or not shapes:
            shapes.append([])
        points: list[tuple[float, float]] = []
        if upper == "H":
            x = args[0] + ox
            points.append((x, y))
        elif upper == "V":
            y = args[0] + oy
            points.append((x, y))
        elif upper == "A":
            rx, ry = abs(args[0]), abs(args[1])
            end = (args[5] + ox, args[6] + oy)
            points += [(end[0] - rx, end[1] - ry), (end[0] + rx, end[1] + ry), end]
            x, y = end
        else:
            pairs = [(args[k] + ox, args[k + 1] + oy) for k in range(0, len(args), 2)]
            points += pairs
            x, y = pairs[-1]
        if upper == "M":
            start_x, start_y = x, y
        shapes[-1] += [(px + dx, py + dy) for px, py in points]
    return shapes


def bounds(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """(min x, min y, max x, max y) of some points."""
    if not points:
        return (math.nan,) * 4
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def encloses_nothing(d: str) -> bool:
    """Whether every subpath of ``d`` is a single straight segment (or a point): filling it
    paints nothing, whatever the fill (plotly's grid lines and ticks inherit a black fill)."""
    try:
        commands = parse(d)
    except PathError:
        return False
    drawn = 0
    for command, _ in commands:
        upper = command.upper()
        if upper == "M":
            drawn = 0
        elif upper in ("L", "H", "V"):
            drawn += 1
            if drawn > 1:
                return False
        elif upper != "Z":
            return False
    return True
