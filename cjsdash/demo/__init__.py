"""Synthetic demo data: seeded, calibrated to the national references, labelled as not real."""
