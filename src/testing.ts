/**
 * manage's testing helpers for a project's own tests (`import {runJob} from 'manage-cli/testing'`):
 * a job at a pinned time with a given history, and the in-memory run log under it.
 */
export {runJob} from './testing/run-job'
export type {JobResult, PastRunInput, RunJobOptions} from './testing/run-job'
export {MemoryRunLog} from './testing/memory-run-log'
