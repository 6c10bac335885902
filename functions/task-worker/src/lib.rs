//! Function `task-worker`: the SQS consumer of benefit-triggered task messages.
//! Task creation lands with the petitions issue; until then `main` reports every
//! message as a batch item failure, so SQS keeps it (and the DLQ catches it after the
//! redrive limit): nothing is acknowledged unprocessed.
