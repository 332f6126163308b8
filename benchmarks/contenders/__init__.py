"""One module per contender, each runnable on its own:

    python -m benchmarks.contenders.loop --url U --key K --event 1000 --out DIR

prints one JSON line `{"photos": ..., "requests": ..., ...}` as its last line of stdout.
"""
