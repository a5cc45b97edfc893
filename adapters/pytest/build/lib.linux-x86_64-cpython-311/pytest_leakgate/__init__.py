"""pytest-leakgate: ``pytest --leaks`` makes every test a memory-leak assertion."""
