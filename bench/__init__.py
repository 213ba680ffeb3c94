"""Benchmarks: how the program, the policy check and the sync functions scale (bench/run.py)."""
