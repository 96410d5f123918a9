// libtorch's random generator, thread count and grad mode are process-wide: tests that seed and build torch modules
// must not interleave with others that do, or a pinned result depends on which tests ran beside it.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
