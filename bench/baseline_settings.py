"""Production settings plus the two baselines the serving benchmark measures in the same server
(bench/baseline_urls.py). Only the benchmark uses them."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.baseline_urls"
