"""Benchmarks for tipline: throughput, latency, CPU and memory against a bare bot.

`python -m benchmarks` (or `make bench`) runs the load phases; `python -m benchmarks.fill_db`
fills a database with many tips and times `/status` and start-up against it.
"""
