"""PHEindicatormethods' own published funnel test values, ported (ukhsa-collaboration/
PHEindicatormethods at commit 093fd28, tests/testthat/testFunnels.R and its CSVs).

- limits: rows of testdata_funnel_prop_outputs.csv (proportions ×100 around 80.642448%),
  testdata_funnel_rate_outputs.csv (dsr per 100,000, 3 years of data: the population columns
  are per year, so ×3 is the exposure) and testdata_funnel_ratio_outputs.csv (observed /
  expected; the ``count`` columns are ratio − 1);
- significance: rows of testdata_funnel_prop_inputs.csv and testdata_funnel_ratio_inputs.csv
  (every category, and the twelve rows nearest a limit; all 303 and 300 rows agree) and all 40
  rows of testdata_funnel_rate_dsr_inputs.csv (crude rate per 100,000, with the zero count).

PHE finds its Poisson limits by bisection to 1e-7, so rates and ratios agree to about 1e-6
relative; the Wilson limits are closed-form and agree to the 6 decimals published.
"""

from __future__ import annotations

import numpy as np
import pytest

from metrics.statistics.funnel import funnel_limits, funnel_position, nominal_exceedance

WORDS = {"above 99.8%": "High (0.001)", "above 95%": "High (0.025)",
         "below 99.8%": "Low (0.001)", "below 95%": "Low (0.025)", "within": "Not significant"}

# Population, Lower2s, Upper2s, Lower3s, Upper3s (percent) around 80.642448%.
PROP_LIMITS = [
    (1, 3.204264, 100, 0, 100), (2, 25.885383, 100, 0, 100),
    (3, 35.933491, 100, 10.150815, 100), (4, 41.923356, 100, 19.594903, 100),
    (5, 46.011039, 100, 26.039864, 100), (539, 77.306949, 83.977947, 75.38344, 85.901456),
    (598, 77.475765, 83.809131, 75.649608, 85.635287),
    (664, 77.637263, 83.647632, 75.904239, 85.380656),
    (89294, 80.383302, 80.901594, 80.233858, 81.051037),
    (99108, 80.396467, 80.888428, 80.254616, 81.03028),
    (110000, 80.408963, 80.875933, 80.274317, 81.010578),
]


@pytest.mark.parametrize(("n", "lo2", "hi2", "lo3", "hi3"), PROP_LIMITS)
def test_proportion_limits(n: int, lo2: float, hi2: float, lo3: float, hi3: float) -> None:
    lim = funnel_limits(0.80642448, [n])
    got = [lim[0.95][0][0], lim[0.95][1][0], lim[0.998][0][0], lim[0.998][1][0]]
    assert np.array(got) * 100 == pytest.approx([lo2, hi2, lo3, hi3], abs=2e-6)


RATE_AV = 116.1720835e-5  # baseline per 100,000
# Events, lower_2s_population_1_year, lower_2s_limit, upper_2s_population_1_year,
# upper_2s_limit, lower_3s_population_1_year, lower_3s_limit (per 100,000; 3 years)
RATE_LIMITS = [
    (1, 1598.675694, 20.85059119, 7.264481402, 4588.535848, 2649.348525, 12.58170943),
    (2, 2072.984403, 32.15975314, 69.49732367, 959.2695538, 3221.906682, 20.69168143),
    (3, 2515.599722, 39.75195225, 177.5159418, 563.3296872, 3747.958682, 26.68119061),
    (151, 50814.51335, 99.05306578, 36691.61384, 137.1793935, 55367.30719, 90.90803922),
    (159, 53290.17651, 99.45547842, 38806.26443, 136.5758874, 57946.64861, 91.46344314),
    (1360, 411529.9259, 110.158048, 369759.5622, 122.6021934, 424043.2424, 106.9073359),
]


@pytest.mark.parametrize(("events", "pop_lo2", "lo2", "pop_hi2", "hi2", "pop_lo3", "lo3"),
                         RATE_LIMITS)
def test_rate_limits(events: int, pop_lo2: float, lo2: float, pop_hi2: float, hi2: float,
                     pop_lo3: float, lo3: float) -> None:
    # At each published exposure the limit passes through events / exposure.
    assert funnel_limits(RATE_AV, [pop_lo2 * 3], kind="rate")[0.95][0][0] * 1e5 == \
        pytest.approx(lo2, rel=2e-6)
    assert funnel_limits(RATE_AV, [pop_hi2 * 3], kind="rate")[0.95][1][0] * 1e5 == \
        pytest.approx(hi2, rel=2e-6)
    assert funnel_limits(RATE_AV, [pop_lo3 * 3], kind="rate")[0.998][0][0] * 1e5 == \
        pytest.approx(lo3, rel=2e-6)
    assert lo2 == pytest.approx(events / (pop_lo2 * 3) * 1e5, rel=1e-8)


# Observed_events, lower_2s_exp_events, lower_2s_count, upper_2s_exp_events, upper_2s_count,
# lower_3s_exp_events, lower_3s_count, upper_3s_exp_events, upper_3s_count
RATIO_LIMITS = [
    (1, 5.571644585, -0.820519779, 0.025317898, 38.49774946, 9.233410143, -0.891697652,
     0.001000547, 998.4532721),
    (2, 7.224687515, -0.723171418, 0.242209467, 7.257315569, 11.22886836, -0.821887662,
     0.04540199, 43.05093268),
    (105, 127.1089168, -0.173936789, 85.87960596, 0.222641846, 140.6834151, -0.253643367,
     76.1589912, 0.378694732),
    (716, 770.4222128, -0.070639465, 664.5083011, 0.077488421, 802.60414, -0.107903929,
     636.1521174, 0.125516964),
]


@pytest.mark.parametrize("row", RATIO_LIMITS)
def test_ratio_limits(row: tuple[float, ...]) -> None:
    _, e_lo2, lo2, e_hi2, hi2, e_lo3, lo3, e_hi3, hi3 = row
    for expected, level, side, count in ((e_lo2, 0.95, 0, lo2), (e_hi2, 0.95, 1, hi2),
                                         (e_lo3, 0.998, 0, lo3), (e_hi3, 0.998, 1, hi3)):
        got = funnel_limits(1.0, [expected], kind="ratio")[level][side][0]
        # 1e-5: the published 99.8% row at 1 event (0.001000547) carries PHE's bisection error
        assert got - 1 == pytest.approx(count, rel=1e-5, abs=1e-7)


PROP_P0 = 0.8064244785714955
PROP_CASES = [
    (35078.488, 41980, 'High (0.001)'),
    (24803.6256, 31824, 'Low (0.001)'),
    (50050.7443, 61921, 'Not significant'),
    (48686.4364, 59804, 'High (0.001)'),
    (35795.6324, 45449, 'Low (0.001)'),
    (66969.6742, 80002, 'High (0.001)'),
    (48514.446, 64755, 'Low (0.001)'),
    (70670.2858, 93122, 'Low (0.001)'),
    (22506.3828, 25932, 'High (0.001)'),
    (24648.7596, 30521, 'Not significant'),
    (31759.385, 39350, 'Not significant'),
    (29561.6517, 36627, 'Not significant'),
    (26789.238, 33012, 'High (0.025)'),
    (36850.0492, 45449, 'High (0.025)'),
    (30111.081, 37037, 'High (0.001)'),
    (34502.0685, 42485, 'High (0.025)'),
    (23910.2469, 29457, 'High (0.025)'),
    (30277.5312, 37828, 'Low (0.025)'),
    (38045.3716, 46958, 'High (0.025)'),
    (16924.1296, 20776, 'High (0.025)'),
    (48590.8983, 60459, 'Not significant'),
    (59356.4384, 73352, 'Not significant'),
    (26734.0178, 32867, 'High (0.001)'),
    (56140.4742, 70053, 'Low (0.001)'),
    (37945.3125, 46875, 'Not significant'),
    (31973.4336, 39488, 'Not significant'),
    (28537.4507, 35201, 'High (0.025)'),
]
RATIO_CASES = [
    (8, 6.239860227, 'Not significant'),
    (151, 106.4429719, 'High (0.001)'),
    (159, 232.9329036, 'Low (0.001)'),
    (191, 184.0963855, 'Not significant'),
    (124, 183.894409, 'Low (0.001)'),
    (220, 249.8012944, 'Not significant'),
    (150, 119.5695496, 'High (0.025)'),
    (0, 240.6273499, 'Low (0.001)'),
    (182, 196.799308, 'Not significant'),
    (151, 204.6070461, 'Low (0.001)'),
    (206, 139.4719025, 'High (0.001)'),
    (141, 106.7211626, 'High (0.001)'),
    (150, 100.6778978, 'High (0.001)'),
    (182, 143.6804295, 'High (0.025)'),
    (101, 126.2973615, 'Low (0.025)'),
    (174, 141.4404162, 'High (0.025)'),
    (174, 143.4578283, 'High (0.025)'),
    (275, 226.4679239, 'High (0.001)'),
    (241, 288.6919023, 'Low (0.025)'),
    (157, 185.666982, 'Low (0.025)'),
    (261, 230.9734513, 'Not significant'),
    (355, 318.5570711, 'High (0.025)'),
    (154, 194.8380567, 'Low (0.025)'),
    (117, 140.709561, 'Low (0.025)'),
    (118, 98.01478528, 'Not significant'),
    (85, 67.9184978, 'Not significant'),
    (72, 90.53187476, 'Not significant'),
    (46, 61.18648577, 'Not significant'),
    (77, 107.8582435, 'Low (0.025)'),
    (83, 103.0799801, 'Low (0.025)'),
    (85, 105.5376211, 'Low (0.025)'),
    (66, 95.61060409, 'Low (0.001)'),
]
RATE_CASES = [  # count, population, crude_per_100000_with_0 (all 40 rows)
    (2419, 264102, 'High (0.001)'),
    (2337, 259711, 'High (0.001)'),
    (2291, 289247, 'High (0.001)'),
    (2242, 265029, 'High (0.001)'),
    (2218, 284649, 'High (0.001)'),
    (2159, 293578, 'High (0.001)'),
    (2130, 286718, 'High (0.001)'),
    (2111, 307381, 'Not significant'),
    (2105, 274145, 'High (0.001)'),
    (2083, 297424, 'High (0.025)'),
    (2078, 272628, 'High (0.001)'),
    (2062, 269656, 'High (0.001)'),
    (2061, 294692, 'High (0.025)'),
    (2033, 277710, 'High (0.001)'),
    (2033, 259213, 'High (0.001)'),
    (2010, 285516, 'High (0.025)'),
    (2004, 269449, 'High (0.001)'),
    (2002, 290888, 'Not significant'),
    (1977, 287112, 'Not significant'),
    (1944, 286492, 'Not significant'),
    (1932, 287012, 'Not significant'),
    (1922, 291277, 'Not significant'),
    (1912, 289859, 'Not significant'),
    (1881, 289653, 'Not significant'),
    (1844, 282519, 'Not significant'),
    (1835, 274220, 'Not significant'),
    (1833, 280271, 'Not significant'),
    (1825, 284206, 'Not significant'),
    (1816, 274508, 'Not significant'),
    (1809, 288384, 'Low (0.025)'),
    (1798, 287072, 'Low (0.025)'),
    (1754, 282744, 'Low (0.001)'),
    (1746, 289208, 'Low (0.001)'),
    (1709, 287736, 'Low (0.001)'),
    (1694, 296175, 'Low (0.001)'),
    (1688, 303255, 'Low (0.001)'),
    (1649, 285959, 'Low (0.001)'),
    (1553, 274661, 'Low (0.001)'),
    (1332, 281425, 'Low (0.001)'),
    (0, 297820, 'Low (0.001)'),
]


def test_proportion_significance() -> None:
    x = np.array([c[0] for c in PROP_CASES])
    n = np.array([c[1] for c in PROP_CASES], dtype=float)
    got = [WORDS[p] for p in funnel_position(x, n, PROP_P0)]
    assert got == [c[2] for c in PROP_CASES]


def test_ratio_significance() -> None:
    x = np.array([c[0] for c in RATIO_CASES], dtype=float)
    e = np.array([c[1] for c in RATIO_CASES])
    got = [WORDS[p] for p in funnel_position(x, e, 1.0, kind="ratio")]
    assert got == [c[2] for c in RATIO_CASES]


def test_rate_significance_crude_with_a_zero() -> None:
    x = np.array([c[0] for c in RATE_CASES], dtype=float)
    n = np.array([c[1] for c in RATE_CASES], dtype=float)
    assert (x == 0).any()
    got = [WORDS[p] for p in funnel_position(x, n, x.sum() / n.sum(), kind="rate")]
    assert got == [c[2] for c in RATE_CASES]


@pytest.mark.parametrize(("p0", "n"), [(0.005, 1_000), (0.005, 10_000), (0.0012, 250_000),
                                       (0.3, 2_000)])
def test_exact_poisson_limits_hold_the_nominal_rate(p0: float, n: float) -> None:
    """An in-control area lands above the upper 95% (99.8%) limit at most 2.5% (0.1%) of the
    time: the exact limits never over-signal (the interpolated ones did)."""
    assert nominal_exceedance(p0, n, 0.95) <= 0.025
    assert nominal_exceedance(p0, n, 0.998) <= 0.001
