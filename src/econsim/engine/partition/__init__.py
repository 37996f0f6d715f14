"""One run across many workers: a population split into P partitions, each stepped by its own worker.

``partition``  assigning agents to partitions (METIS, Hilbert curve, random), renumbered into blocks
``exact``      order-independent exact float sums (superaccumulators), for reductions over agents
``runtime``    the bulk-synchronous driver: supersteps of compute, exchange and apply over local or
               Ray workers, all-reduces, checkpoints, restarts and load balancing

Light at import: numba, pymetis and Ray load only when used.
"""
