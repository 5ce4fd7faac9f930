/**
 * Imported first by the `dynproxy` command, before anything allocates. Every socket read lands in
 * a fresh Buffer; by default V8 starts a full mark-compact for each ~64 MB of such external memory,
 * and its cost grows with the whole JS heap, so a node moving a GB/s spent most of its GC time
 * re-marking a heap that does not change. Counting external memory in the global heap limit
 * instead measured ≈15 % less CPU per GB relayed (bench: throughput scenario).
 */
import v8 from 'node:v8'

v8.setFlagsFromString('--external-memory-accounted-in-global-limit')
