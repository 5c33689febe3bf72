import { PouwError } from "../util/errors.ts";

/** Why useful-work code refused something (datasets, job specs, checkpoints, proofs). */
export const WorkErrorCode = {
  /** A dataset's bytes do not hash to the id they should have. */
  DATASET_MISMATCH: "DATASET_MISMATCH",
  /** The node does not hold the dataset a job names. */
  UNKNOWN_DATASET: "UNKNOWN_DATASET",
  /** A job spec is malformed: layer sizes, batch size, steps, segment length or numbers out of range. */
  BAD_JOB_SPEC: "BAD_JOB_SPEC",
  /** A checkpoint blob is malformed or does not fit the job's model. */
  BAD_CHECKPOINT: "BAD_CHECKPOINT",
} as const;
export type WorkErrorCode = (typeof WorkErrorCode)[keyof typeof WorkErrorCode];

export class WorkError extends PouwError<WorkErrorCode> {}
