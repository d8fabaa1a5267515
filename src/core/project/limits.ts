import type {LoadedJob, Problem} from '../jobs/load-jobs'
import type {Settings} from './settings'

/**
 * Where jobs and settings meet for limits: a job whose `limit` names a group the settings' `limits`
 * do not define cannot run (run unlimited, it could break the cap it asks for). `manage check`
 * reports it, and the tick leaves the job out with the same error.
 */
export function undefinedLimit(job: LoadedJob, settings: Pick<Settings, 'limits'>): Problem | null {
  const group = job.policy.limit
  if (group === null || settings.limits.has(group)) return null
  const known = settings.limits.size === 0 ? 'the settings define no limits' : `the settings' limits are ${[...settings.limits.keys()].join(', ')}`
  return {subject: job.className, level: 'error', message: `limit = '${group}' names no group of the settings' limits (${known}): add limits: {${/^[A-Za-z_$][\w$]*$/.test(group) ? group : JSON.stringify(group)}: 2} to the settings, or fix the name; the job does not run meanwhile`}
}

/** The jobs that may run, and a problem for each left out by undefinedLimit; the same lists when no job uses a limit. */
export function withDefinedLimits(jobs: LoadedJob[], problems: Problem[], settings: Pick<Settings, 'limits'>): {jobs: LoadedJob[]; problems: Problem[]} {
  if (!jobs.some((job) => job.policy.limit !== null)) return {jobs, problems}
  const kept: LoadedJob[] = []
  const found = [...problems]
  for (const job of jobs) {
    const problem = undefinedLimit(job, settings)
    if (problem === null) kept.push(job)
    else found.push(problem)
  }
  return {jobs: kept, problems: found}
}
