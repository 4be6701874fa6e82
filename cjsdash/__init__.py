"""cjsdash: performance analytics for criminal justice partnerships in England and Wales."""

from cjsdash.core import allocators

allocators.apply()  # before polars loads: its allocator reads the environment once

__version__ = "0.1.0"

OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0."
)
