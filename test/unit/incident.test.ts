import {expect} from 'chai'
import {incidentStep, NO_INCIDENT, type IncidentEvent, type IncidentPolicy, type IncidentState} from '../../src/core/alerts/incident'
import type {RunStatus} from '../../src/core/contract/run-types'

const MIN = 60_000
const policy = (failureThreshold = 1, recoveryThreshold = 1, remindAfterMs: number | null = null): IncidentPolicy => ({failureThreshold, recoveryThreshold, remindAfterMs})
const run = (status: RunStatus, minute: number): IncidentEvent => ({kind: 'run', status, atMs: minute * MIN})

/** The alerts a sequence of events calls for, as "kind@minute" (reminders as "kind#n@minute"). */
function alertsOf(events: IncidentEvent[], p: IncidentPolicy, from: IncidentState = NO_INCIDENT): {alerts: string[]; state: IncidentState} {
  let state = from
  const alerts: string[] = []
  for (const event of events) {
    const step = incidentStep(state, event, p)
    state = step.state
    if (step.alert) alerts.push(`${step.alert.kind}${step.alert.reminder ? `#${step.alert.reminder}` : ''}@${event.atMs / MIN}`)
  }
  return {alerts, state}
}

describe('incidentStep: a job\'s incidents, as a table of (events, thresholds) → alerts', () => {
  const table: Array<[string, IncidentEvent[], IncidentPolicy, string[]]> = [
    ['one failure opens an incident (threshold 1)', [run('failed', 0)], policy(), ['failed@0']],
    ['three failures in a row: one alert, then one recovery', [run('failed', 0), run('failed', 1), run('failed', 2), run('succeeded', 3)], policy(), ['failed@0', 'recovered@3']],
    ['threshold 3: the third failure alerts', [run('failed', 0), run('failed', 1), run('failed', 2), run('failed', 3)], policy(3), ['failed@2']],
    ['threshold 3: a success in between starts the count again', [run('failed', 0), run('failed', 1), run('succeeded', 2), run('failed', 3), run('failed', 4)], policy(3), []],
    ['timed out and interrupted count as failures, and name the kind', [run('timed_out', 0), run('succeeded', 1), run('interrupted', 2)], policy(), ['timed_out@0', 'recovered@1', 'interrupted@2']],
    ['recovery threshold 2: one success is not enough', [run('failed', 0), run('succeeded', 1), run('failed', 2), run('succeeded', 3), run('succeeded', 4)], policy(1, 2), ['failed@0', 'recovered@4']],
    ['reminders with back-off (10, then 20, then 40 min)', [0, 5, 10, 15, 25, 30, 45, 70, 75].map((m) => run('failed', m)), policy(1, 1, 10 * MIN), ['failed@0', 'failed#1@10', 'failed#2@30', 'failed#3@70']],
    ['no reminders by default', [0, 60, 600].map((m) => run('failed', m)), policy(), ['failed@0']],
    ['a missed period opens an incident; the late run that succeeds closes it', [{kind: 'missed', atMs: 7 * MIN}, run('succeeded', 7)], policy(), ['missed@7', 'recovered@7']],
    ['a missed period while an incident is open alerts nothing more', [run('failed', 0), {kind: 'missed', atMs: 7 * MIN}], policy(), ['failed@0']],
    ['running rows change nothing', [run('running', 0)], policy(), []],
    ['successes alone: nothing', [run('succeeded', 0), run('succeeded', 1)], policy(), []],
  ]
  for (const [name, events, p, expected] of table) it(name, () => expect(alertsOf(events, p).alerts).to.deep.equal(expected))

  it('counts failures in a row from the first one, and says so in the recovery', () => {
    const steps = [run('failed', 0), run('failed', 1), run('failed', 2)]
    const {state} = alertsOf(steps, policy(2))
    expect(state).to.deep.equal({failureStreak: 3, failureSinceMs: 0, successStreak: 0, open: {kind: 'failed', sinceMs: 0, alertedMs: MIN, reminders: 0}})
    const recovery = incidentStep(state, run('succeeded', 5), policy(2))
    expect(recovery.alert).to.deep.equal({kind: 'recovered', incident: 'failed', failuresInRow: 3, sinceMs: 0, reminder: null})
    expect(recovery.state).to.deep.equal({failureStreak: 0, failureSinceMs: null, successStreak: 1, open: null})
  })

  it('a job that keeps succeeding changes nothing (the success streak stops at the threshold), so its row is not written', () => {
    const once = incidentStep(NO_INCIDENT, run('succeeded', 0), policy()).state
    expect(incidentStep(once, run('succeeded', 1), policy()).state).to.deep.equal(once)
  })
})
