"""cjsdash: performance analytics for criminal justice partnerships in England and Wales."""

from cjsdash.core import allocators

allocators.apply()  # freed memory given back (decision 38)

__version__ = "0.1.0"

OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0."
)
