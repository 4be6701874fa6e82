"""The synthetic demo board extract: seeded, calibrated, and clearly labelled as not real.

One row per indicator × LCJB area × period (× ethnic group) in the board performance extract
template (``area, period, measure, numerator, denominator, value, ethnicity, source,
vintage``). Levels, trends, seasonality, area spread and the step shifts come from
``calibration.yaml`` (national references in INDICATORS.md); area sizes from the population.
Counts get Poisson noise and proportions binomial noise on top. Same seed, same frame.

The later stages of the justice process (charge, prosecution, conviction, custody:
``metrics/stages.yaml``) follow the arrests by ethnic group, month by month, each drawn
binomially from the stage before, and are written in the extract's measure form
(``measure=<measure name>``, ``value=<count>``, no numerator).
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import yaml

from cjsdash.core.periods import fy_label, parse_period

if TYPE_CHECKING:
    from metrics.registry import Indicator, Registry

SYNTHETIC_SOURCE = "synthetic_demo"
SYNTHETIC_LABEL = "synthetic demo data"
SYNTHETIC_VINTAGE = "synthetic-v1"
CALIBRATION_PATH = Path(__file__).with_name("calibration.yaml")
GROUPS: tuple[str, ...] = ("White", "Mixed", "Asian", "Black", "Other")
NOT_STATED = "Not stated"
COLUMNS: tuple[str, ...] = (
    "area", "period", "measure", "numerator", "denominator", "value", "ethnicity", "source",
    "vintage",
)
_PHASE = {"rate": 0, "count": 1, "amount": 1, "proportion": 2, "mean": 3}


@dataclass(frozen=True)
class _Grid:
    freq: str
    labels: list[str]
    starts: list[date]
    t: np.ndarray  # years since the first financial year began, at mid-period
    month: np.ndarray  # calendar month at mid-period (1-12, fractional)
    months: int  # months per period


def _grid(freq: str, first_fy: int, last_fy: int) -> _Grid:
    per_year = 12 if freq == "month" else 4
    months = 12 // per_year
    labels, starts = [], []
    for k in range((last_fy - first_fy + 1) * per_year):
        index = first_fy * 12 + 3 + k * months  # months since year 0, April of first_fy
        year, month = divmod(index, 12)
        starts.append(date(year, month + 1, 1))
        fy = first_fy + k // per_year
        labels.append(f"{year}-{month + 1:02d}" if freq == "month"
                      else f"{fy_label(fy)} Q{k % 4 + 1}")
    t = (np.arange(len(labels)) * months + months / 2) / 12
    month_mid = np.array([s.month + (months - 1) / 2 for s in starts])
    return _Grid(freq, labels, starts, t, month_mid, months)


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _key(name: str) -> str:
    return " ".join(name.casefold().replace("&", "and").split())


class _Generator:
    def __init__(self, registry: Registry, populations: pl.DataFrame, cal: dict[str, Any],
                 seed: int, first_fy: int, last_fy: int) -> None:
        self.reg, self.cal, self.seed = registry, cal, seed
        self.first_fy, self.last_fy = first_fy, last_fy
        pops = populations.select("area", "ethnicity", pl.col("population").cast(pl.Float64))
        self.areas = sorted(pops["area"].unique().to_list())
        lookup = {(a, e): p for a, e, p in pops.iter_rows()}
        self.group_pop = np.array([[lookup.get((a, g), 0.0) for g in GROUPS] for a in self.areas])
        self.pop = np.array([lookup.get((a, ""), s) for a, s in
                             zip(self.areas, self.group_pop.sum(axis=1), strict=True)])
        self.common = np.random.default_rng(seed).standard_normal(len(self.areas))
        self.grids = {f: _grid(f, first_fy, last_fy) for f in ("month", "quarter")}
        self.store: dict[tuple[str, str], np.ndarray] = {}
        self.used: dict[str, np.ndarray] = {}  # partitions: share of the denominator drawn so far
        self.rows: dict[str, dict[str, tuple[np.ndarray, np.ndarray | None]]] = {}

    # --- building blocks -------------------------------------------------------------------
    def rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def level(self, c: dict[str, Any], grid: _Grid, start: str = "level_start",
              end: str = "level_end") -> np.ndarray:
        points = {self.first_fy: c[start], **{int(k): v for k, v in c.get("knots", {}).items()},
                  self.last_fy: c[end]}
        years = sorted(points)
        return np.interp(grid.t, [y - self.first_fy + 0.5 for y in years],
                         [points[y] for y in years])

    def effects(self, rng: np.random.Generator, c: dict[str, Any], grid: _Grid,
                polarity: str = "neutral", log: bool = False) -> np.ndarray:
        """Persistent area effect + seasonal cycle + area × period noise (link scale).

        On the log scale (``log``) the effects are centred so that exp(effects) averages 1
        over the population, keeping the national total at the calibrated level.
        """
        sign = {"higher_is_better": 1.0, "lower_is_better": -1.0}.get(polarity, 0.0)
        w = self.cal["common_weight"] * abs(sign)
        z = w * sign * self.common + np.sqrt(1 - w**2) * rng.standard_normal(len(self.areas))
        area = c["spread_sd"] * z
        if log:
            area -= np.log(np.average(np.exp(area), weights=self.pop)) + c["noise_sd"] ** 2 / 2
        else:
            area -= np.average(area, weights=self.pop)
        season = c["seasonal_amp"] * np.cos(2 * np.pi * (grid.month - self.cal["peak_month"]) / 12)
        noise = c["noise_sd"] * rng.standard_normal((len(self.areas), len(grid.labels)))
        return area[:, None] + season[None, :] + noise

    def steps(self, ind_id: str, grid: _Grid, on: str = "level") -> tuple[np.ndarray, np.ndarray]:
        shape = (len(self.areas), len(grid.labels))
        points, factor = np.zeros(shape), np.ones(shape)
        for s in self.cal.get("steps", []):
            if ind_id not in s["indicators"] or s.get("applies_to", "level") != on:
                continue
            rows = [i for i, a in enumerate(self.areas) if s["area"] == "*" or
                    _key(a) == _key(s["area"])]
            if not rows:
                warnings.warn(f"calibration step: no area '{s['area']}'", stacklevel=2)
            first = parse_period(s["from"]).start
            last = parse_period(s["to"]).end if s.get("to") else date.max
            cols = [j for j, st in enumerate(grid.starts) if first <= st <= last]
            points[np.ix_(rows, cols)] += s.get("points", 0.0)
            factor[np.ix_(rows, cols)] *= s.get("factor", 1.0)
        return points, factor

    def get(self, measure: str, grid: _Grid) -> np.ndarray | None:
        if (measure, grid.freq) in self.store:
            return self.store[(measure, grid.freq)]
        monthly = self.store.get((measure, "month"))
        if monthly is not None and grid.freq == "quarter":
            return monthly.reshape(len(self.areas), -1, 3).sum(axis=2)
        return None

    def volume(self, ind: Indicator, grid: _Grid) -> np.ndarray:
        """The denominator, drawn once per measure (shared denominators stay identical)."""
        assert ind.denominator is not None
        measure = ind.denominator.measure
        found = self.get(measure, grid)
        if found is not None:
            return found
        owner = ind.id
        spec = self.cal["indicators"][owner]["volume"]
        while "shared_with" in spec and "volume" in self.cal["indicators"][spec["shared_with"]]:
            owner = spec["shared_with"]
            spec = self.cal["indicators"][owner]["volume"]
        if "shared_with" in spec or "from" in spec:  # another indicator draws it
            source = spec.get("from", spec.get("shared_with"))
            self.generate(self.reg.get(source))
            found = self.get(measure, grid)
            if found is None:
                raise ValueError(f"calibration: {source} does not produce {measure}")
            return found
        c = {**self.cal["volume_defaults"], **spec}
        rng = self.rng(f"volume:{measure}")
        lvl = self.level(c, grid, "start", "end")[None, :]
        if spec["basis"] == "respondents_per_quarter":
            noise = np.exp(c["noise_sd"] * rng.standard_normal((len(self.areas), lvl.size)))
            mu = lvl * np.sqrt(self.pop / 1e6)[:, None] * grid.months / 3 * noise
        else:
            eff = self.effects(rng, c, grid, log=True)
            mu = lvl * self.pop[:, None] / 1000 * grid.months / 12 * np.exp(eff)
        out = rng.poisson(mu * self.steps(owner, grid, "volume")[1])
        self.store[(measure, grid.freq)] = out
        return out

    # --- one indicator ---------------------------------------------------------------------
    def generate(self, ind: Indicator) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """Numerators (and denominators) by ethnicity ('' = all), stored by measure."""
        if ind.id in self.rows:
            return self.rows[ind.id]
        grid = self.grids[ind.frequency]
        c, rng = self.cal["indicators"][ind.id], self.rng(ind.id)
        if ind.type == "rate":
            rows = self._rate(ind, c, rng, grid)
        elif ind.type in ("count", "amount"):
            rows = {"": (self._count(ind, c, rng, grid), None)}
        elif ind.type == "proportion" and "groups" in c:
            rows = self._proportion_by_group(ind, c, rng, grid)
        elif ind.type == "proportion":
            rows = {"": self._proportion(ind, c, rng, grid)}
        else:
            rows = {"": self._mean(ind, c, rng, grid)}
        self.store[(ind.numerator.measure, grid.freq)] = rows[""][0]
        self.rows[ind.id] = rows
        return rows

    def _count(self, ind: Indicator, c: dict[str, Any], rng: np.random.Generator,
               grid: _Grid) -> np.ndarray:
        eff = self.effects(rng, c, grid, ind.polarity, log=True)
        factor = self.steps(ind.id, grid)[1]
        if "share_of" in c:
            base = sum(self.generate(self.reg.get(i))[""][0] for i in c["share_of"])
            p = np.clip(self.level(c, grid) / 100 * np.exp(eff) * factor, 0, 1)
            return rng.binomial(base, p)
        per = 1.0 if c["basis"] == "stock_per_1000" else grid.months / 12
        mu = self.level(c, grid) * self.pop[:, None] / 1000 * per * np.exp(eff) * factor
        return np.rint(mu) if ind.type == "amount" else rng.poisson(mu)

    def _p(self, ind: Indicator, c: dict[str, Any], rng: np.random.Generator, grid: _Grid,
           ratio: float | np.ndarray = 1.0) -> np.ndarray:
        eff = self.effects(rng, c, grid, ind.polarity)
        p = 1 / (1 + np.exp(-_logit(self.level(c, grid) / 100 * ratio) - eff))
        return np.clip(p + self.steps(ind.id, grid)[0] / 100, 0.0005, 0.9995)

    def _proportion(self, ind: Indicator, c: dict[str, Any], rng: np.random.Generator,
                    grid: _Grid) -> tuple[np.ndarray, np.ndarray]:
        assert ind.denominator is not None
        den = self.volume(ind, grid)
        num = self.get(ind.numerator.measure, grid)
        if num is not None:  # drawn with another indicator (ethnicity recorded)
            return num, den
        p = self._p(ind, c, rng, grid)
        measure = ind.denominator.measure
        if measure not in self.cal["partitions"]:
            return rng.binomial(den, p), den
        key = f"{measure}:{grid.freq}"
        used = self.used.get(key, np.zeros_like(p))
        drawn = self.used.get(key + ":n", np.zeros_like(den))
        q = np.clip(p / np.clip(1 - used, 1e-6, None), 0, 1)
        num = rng.binomial(den - drawn, q)
        self.used[key], self.used[key + ":n"] = used + p, drawn + num
        return num, den

    def _proportion_by_group(self, ind: Indicator, c: dict[str, Any], rng: np.random.Generator,
                             grid: _Grid) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        den = self.volume(ind, grid)
        boost = np.array([1.0 if g == "White" else c.get("bme_boost", 1.0) for g in GROUPS])
        weights = self.group_pop * boost
        pvals = weights / weights.sum(axis=1, keepdims=True)
        split = rng.multinomial(den, pvals[:, None, :])  # areas × periods × groups
        ratios = np.array([c["groups"][g] for g in GROUPS])
        p = self._p(ind, c, rng, grid, ratios[:, None, None])  # groups × areas × periods
        rows = {g: (rng.binomial(split[..., k], p[k]), split[..., k]) for k, g in enumerate(GROUPS)}
        total = sum(r[0] for r in rows.values())
        return {"": (total, den), **rows}

    def _mean(self, ind: Indicator, c: dict[str, Any], rng: np.random.Generator,
              grid: _Grid) -> tuple[np.ndarray, np.ndarray]:
        den = self.volume(ind, grid)
        if "sum_of" in c:
            return sum(self.generate(self.reg.get(i))[""][0] for i in c["sum_of"]), den
        eff = self.effects(rng, c, grid, ind.polarity, log=True)
        m = self.level(c, grid) * np.exp(eff) + self.steps(ind.id, grid)[0]
        m = np.clip(m, 1.0 if ind.unit == "hearings" else 0.0, None)
        return np.rint(den * m), den

    def _rate(self, ind: Indicator, c: dict[str, Any], rng: np.random.Generator,
              grid: _Grid) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        eff = self.effects(rng, c, grid, ind.polarity, log=True)
        eff += np.log(self.steps(ind.id, grid)[1])
        ratios = np.array([c["groups"][g] for g in GROUPS])
        group_eff = c.get("group_spread_sd", 0.0) * rng.standard_normal((len(self.areas), 5))
        group_eff[:, 0] = 0.0  # the reference group carries the area effect alone
        mu = (self.level(c, grid)[None, :, None] * ratios * self.group_pop[:, None, :] / 1000
              * grid.months / 12 * np.exp(eff[..., None] + group_eff[:, None, :]))
        counts = rng.poisson(mu)  # areas × periods × groups
        recorded = counts.sum(axis=2)
        if "recorded_from" in c:
            rec_ind = self.reg.get(c["recorded_from"])
            share = self._p(rec_ind, self.cal["indicators"][rec_ind.id], rng, grid)
            self.store[(rec_ind.numerator.measure, grid.freq)] = recorded
        else:
            share = np.full(recorded.shape, c.get("recorded_level", 100.0) / 100)
        missing = rng.poisson(recorded * (1 - share) / share)
        rows = {g: (counts[..., k], None) for k, g in enumerate(GROUPS)}
        return {"": (recorded + missing, None), **rows, NOT_STATED: (missing, None)}

    # --- later stages of the justice process --------------------------------------------------
    def stages(self) -> dict[str, dict[str, np.ndarray]]:
        """measure → {ethnicity ('' = all, groups, Not stated): areas × periods counts}.

        Each stage is drawn from the stage before it, group by group (arrests first), so a
        stage never exceeds the one before. A share ``100 − recorded`` of each stage's known
        records lose their ethnicity and join "Not stated", which moves on like the rest.
        """
        spec = self.cal.get("stages")
        if not spec:
            return {}
        base = self.reg.get(spec["follows"])
        grid = self.grids[base.frequency]
        rows = self.generate(base)
        prev = np.stack([rows[g][0] for g in GROUPS], axis=-1)  # areas × periods × groups
        prev_unknown = rows[NOT_STATED][0]
        out: dict[str, dict[str, np.ndarray]] = {}
        for measure, c in spec["measures"].items():
            rng = self.rng(f"stage:{measure}")
            eff = self.effects(rng, c, grid)  # logit scale, areas × periods
            level = self.level(c, grid) / 100
            ratios = np.array([c["groups"][g] for g in GROUPS])
            group_eff = c.get("group_spread_sd", 0.0) * rng.standard_normal(
                (len(self.areas), len(GROUPS)))
            group_eff[:, 0] = 0.0  # the reference group carries the area effect alone
            logit = (_logit(level[None, :, None] * ratios) + eff[..., None]
                     + group_eff[:, None, :])
            counts = rng.binomial(prev, 1 / (1 + np.exp(-logit)))
            lost = rng.binomial(counts, 1 - c["recorded"] / 100)
            counts = counts - lost
            unknown = (rng.binomial(prev_unknown, 1 / (1 + np.exp(-_logit(level)[None, :] - eff)))
                       + lost.sum(axis=2))
            out[measure] = {"": counts.sum(axis=2) + unknown,
                            **{g: counts[..., k] for k, g in enumerate(GROUPS)},
                            NOT_STATED: unknown}
            prev, prev_unknown = counts, unknown
        return out

    def stage_frame(self, measure: str, ethnicity: str, counts: np.ndarray) -> pl.DataFrame:
        """Measure-form rows: the count in ``value``, no numerator or denominator."""
        grid = self.grids[self.reg.get(self.cal["stages"]["follows"]).frequency]
        n_areas, n_periods = counts.shape
        return pl.DataFrame({
            "area": pl.Series(np.repeat(self.areas, n_periods), dtype=pl.String),
            "period": pl.Series(grid.labels * n_areas, dtype=pl.String),
            "measure": pl.Series([measure] * counts.size, dtype=pl.String),
            "numerator": pl.Series([None] * counts.size, dtype=pl.Int64),
            "denominator": pl.Series([None] * counts.size, dtype=pl.Int64),
            "value": pl.Series(counts.ravel().astype(np.float64), dtype=pl.Float64),
            "ethnicity": pl.Series([ethnicity] * counts.size, dtype=pl.String),
            "source": pl.Series([SYNTHETIC_SOURCE] * counts.size, dtype=pl.String),
            "vintage": pl.Series([SYNTHETIC_VINTAGE] * counts.size, dtype=pl.String),
        })

    # --- output ----------------------------------------------------------------------------
    def frame(self, ind: Indicator, ethnicity: str, num: np.ndarray,
              den: np.ndarray | None) -> pl.DataFrame:
        grid = self.grids[ind.frequency]
        n_areas, n_periods = num.shape
        return pl.DataFrame({
            "area": pl.Series(np.repeat(self.areas, n_periods), dtype=pl.String),
            "period": pl.Series(grid.labels * n_areas, dtype=pl.String),
            "measure": pl.Series([ind.id] * num.size, dtype=pl.String),
            "numerator": pl.Series(num.ravel().astype(np.int64), dtype=pl.Int64),
            "denominator": pl.Series([None] * num.size if den is None
                                     else den.ravel().astype(np.int64), dtype=pl.Int64),
            "value": pl.Series([None] * num.size, dtype=pl.Float64),
            "ethnicity": pl.Series([ethnicity] * num.size, dtype=pl.String),
            "source": pl.Series([SYNTHETIC_SOURCE] * num.size, dtype=pl.String),
            "vintage": pl.Series([SYNTHETIC_VINTAGE] * num.size, dtype=pl.String),
        })


def load_calibration(path: Path = CALIBRATION_PATH) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def make_synthetic_extract(registry: Registry, populations: pl.DataFrame, *,
                           seed: int = 20150401, first_fy: int = 2015,
                           last_fy: int = 2025) -> pl.DataFrame:
    """The whole synthetic board extract for every area in ``populations`` (see module doc)."""
    cal = load_calibration()
    gen = _Generator(registry, populations, cal, seed, first_fy, last_fy)
    wanted = [i for i in registry.indicators if i.type != "ratio"]  # ratios are computed
    missing = [i.id for i in wanted
               if i.id not in cal["indicators"] and i.id not in cal.get("published_only", [])]
    if missing:
        warnings.warn(f"no synthetic calibration for {', '.join(missing)}", stacklevel=2)
    wanted = [i for i in wanted if i.id in cal["indicators"]]
    for ind in sorted(wanted, key=lambda i: _PHASE[i.type]):
        gen.generate(ind)
    frames = [gen.frame(ind, eth, num, den if ind.denominator is not None else None)
              for ind in wanted for eth, (num, den) in gen.generate(ind).items()]
    frames += [gen.stage_frame(measure, eth, counts)
               for measure, by_group in gen.stages().items() for eth, counts in by_group.items()]
    return pl.concat(frames).select(COLUMNS)


def write_synthetic_extract(frame: pl.DataFrame, path: Path | str) -> Path:
    """Write the extract as a UTF-8 CSV with a header row; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path
