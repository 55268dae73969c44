// Package bench holds modeldoc's end-to-end benchmarks (in its _test.go
// files): import speed, job throughput against a provider's limits and
// against the original strategy, orchestration overhead and scale. See
// docs/benchmarks.md for the figures and the command of each.
package bench
