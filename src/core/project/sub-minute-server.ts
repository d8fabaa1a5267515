import {recentScheduler} from '../alerts/silence'
import {SqlServerTicks} from '../run-log/server-ticks'
import type {SubMinuteServer} from '../schedule/describe'
import type {Project} from './project'

/**
 * Who serves the sub-minute jobs (manage check, crons:list): the scheduler that ticked recently
 * (recentScheduler, on the decisions' clock: MANAGE_NOW pins it), or none; unknown (undefined)
 * when the runners' ticks cannot be read (a database not reachable or not migrated).
 */
export async function subMinuteServer(project: Project): Promise<SubMinuteServer> {
  try {
    const {ticks} = await new SqlServerTicks(project.runLogSource()).tickState()
    return recentScheduler(ticks, (await project.clock())())
  } catch {
    return undefined
  }
}
