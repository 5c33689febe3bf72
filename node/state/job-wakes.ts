/**
 * Which jobs may need end-of-block bookkeeping at which height: an open job
 * at its deadline + 1, a pending proof's job at its attestation deadline, an
 * accepted proof's job when its challenge window closes, an ended job when it
 * is to leave the live state. Derived from the
 * state (never hashed, never stored): built from the committed jobs when a
 * block first needs it and kept current as blocks commit, so `endBlockJobs`
 * looks only at the jobs due now and those the block touched, not at every
 * job ever posted. An entry may be stale (the job changed since); the
 * bookkeeping re-checks each job, so a stale entry costs one look.
 */
export class JobWakes {
  private readonly byHeight = new Map<number, Set<number>>();
  /** The params the heights were computed with; a world used with other params rebuilds. */
  readonly attestationDeadline: number;
  readonly challengeWindow: number;
  readonly jobRetentionBlocks: number;

  constructor(params: { attestationDeadline: number; challengeWindow: number; jobRetentionBlocks: number }) {
    this.attestationDeadline = params.attestationDeadline;
    this.challengeWindow = params.challengeWindow;
    this.jobRetentionBlocks = params.jobRetentionBlocks;
  }

  /** Whether the heights were computed with these params. */
  builtWith(params: { attestationDeadline: number; challengeWindow: number; jobRetentionBlocks: number }): boolean {
    return this.attestationDeadline === params.attestationDeadline && this.challengeWindow === params.challengeWindow && this.jobRetentionBlocks === params.jobRetentionBlocks;
  }

  add(height: number, job: number): void {
    const s = this.byHeight.get(height);
    if (s) s.add(job);
    else this.byHeight.set(height, new Set([job]));
  }

  /** Job indices due at `height` (unordered). */
  at(height: number): Iterable<number> {
    return this.byHeight.get(height) ?? [];
  }

  /** Forgets `height` once its block is committed. */
  drop(height: number): void {
    this.byHeight.delete(height);
  }

  /** Entries held (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const s of this.byHeight.values()) n += s.size;
    return n;
  }
}

/** What a sealed block adds to the index: the height it was processed at and (wake height, job index) pairs. */
export interface JobWakeChanges {
  height: number;
  add: [number, number][];
}
