// Benchmarks behind `misc bench`.
