"""Settings read from the environment (``CJSDASH_*``) with sensible defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every tunable of cjsdash, in one place.

    ``CJSDASH_DB`` names the warehouse file; ``CJSDASH_DATA_DIR`` the folder that uploads
    and generated files are written under (and nowhere else). ``CJSDASH_ALLOWED_HOSTS``
    (comma-separated host names, optionally ``name:port``) are the ``Host`` headers the
    server answers besides localhost, 127.0.0.1 and [::1] (``*``: any; see cjsdash.guard).
    """

    model_config = SettingsConfigDict(env_prefix="CJSDASH_", extra="ignore")

    db: Path = Field(default=REPO_ROOT / "data" / "cjsdash.duckdb")
    data_dir: Path = Field(default=REPO_ROOT / "data")
    shared_real_dir: Path = Field(default=REPO_ROOT.parent / "shared" / "data" / "real")
    suppression_threshold: int = Field(default=5, ge=1)
    suppression_rounding: int = Field(default=0, ge=0, description="round counts to this base; 0 = off")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1.0)
    disclosure: Literal["breakdown", "whole_set"] = Field(
        default="whole_set", description="secondary suppression within each breakdown, or "
        "over the whole published set (areas, periods, breakdowns; decisions 0008 and 0025)")
    upload_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    allowed_hosts: str = Field(default="", description="comma-separated extra Host names the "
                               "server answers (DNS-rebinding guard); '*' turns the check off")
    rag_tolerance: float = Field(default=0.10, ge=0.0, le=1.0)
    serve_duckdb_memory_mb: int = Field(default=300, ge=64, description="DuckDB's memory "
                                        "limit for each database `cjsdash serve` opens (the file, "
                                        "a snapshot), MB: its cache of blocks stays within it "
                                        "(decision 0023)")
    response_cache_mb: int = Field(default=64, ge=0, description="each server process keeps "
                                   "callback answers per data version up to this many MB; "
                                   "0 turns the cache off (cjsdash.cached_callbacks, decision 0027)")
    max_reject_share: float = Field(default=0.10, ge=0.0, le=1.0, description="a file with a "
                                    "larger share of its rows rejected is refused whole "
                                    "(ingest.pipeline): it must not replace good figures")
    shrink_floor: float = Field(default=0.5, ge=0.0, lt=1.0, description="a file that would "
                                "cut a count already loaded to under this share of it, or "
                                "withdraw more than the rest of a slice's figures, is refused "
                                "(ingest.pipeline_shrink); 0 loads it (--accept-shrink)")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
