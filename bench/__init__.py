"""Benchmarks of the whole bot (`python bot.py bench --load` / `--soak`): they drive the served bot from outside,
so they sit above every layer and no layer imports them."""
