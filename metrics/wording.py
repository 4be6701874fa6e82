"""Plain words for registry fields, shared by the pages and the board packs so both describe
an indicator the same way."""

from __future__ import annotations

CI_WORDS: dict[str, str] = {
    "wilson": "Wilson score interval for a proportion",
    "poisson": "Poisson interval for a count (Byar's approximation; exact when small)",
    "byar_exact": "Byar's approximation for the count (exact Poisson below 10), over the "
                  "denominator",
    "katz": "Katz log interval for a ratio of rates",
    "normal": "Normal approximation",
    "none": "No confidence interval",
}
POLARITY_WORDS: dict[str, str] = {
    "higher_is_better": "Higher is better.",
    "lower_is_better": "Lower is better.",
    "neutral": "Neither higher nor lower is better: no target status is given.",
}
