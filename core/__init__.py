"""The shared kernel: the typed config, the clock and the error tree; imports nothing of ours above
it."""
