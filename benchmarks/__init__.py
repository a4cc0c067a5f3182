"""Benchmarks (not tests): run each as a module, e.g. `python -m benchmarks.card`."""
