import {CronJobBase, type CronContext} from '../core/contract/cron-job-base'

/** One item as the API returns it. */
interface Item {
  id: string | number
  title: string
}

/**
 * django-cron's tutorial job, done properly: every 5 minutes, fetch a JSON list of items from
 * an HTTP API (settings itemsUrl, or ITEMS_URL) and store the new ones in the app's own `items`
 * table (migrations/20261202120000_create_items.ts), skipping those it has. A failed fetch fails
 * the run with the reason (its message keeps fetch's cause, e.g. ECONNREFUSED); the next tick tries
 * again after retryAfterFailureMins. Not in the example settings' crons: run it by name,
 * `ITEMS_URL=… manage runcrons FetchItemsCronJob`.
 */
export class FetchItemsCronJob extends CronJobBase {
  code = 'app.fetch_items'
  runEveryMins = 5
  retryAfterFailureMins = 1
  runToleranceSeconds = 10
  // Its own bound, beside ctx.signal: an API that never answers fails this run, not the tick.
  timeoutMins = 2

  async do(ctx: CronContext) {
    const url = String(process.env.ITEMS_URL || ctx.settings.itemsUrl || '')
    if (!url) throw new Error('no itemsUrl in the settings (or ITEMS_URL): set it to the API that lists the items')
    const response = await fetch(url, {signal: ctx.signal, headers: {accept: 'application/json'}})
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`)
    const items = (await response.json()) as Item[]
    if (!Array.isArray(items)) throw new Error(`GET ${url} did not answer a list of items`)
    const rows = items.map((item) => ({id: String(item.id), title: String(item.title), fetched_at: ctx.now.toMillis()}))
    const before = Number((await ctx.db('items').count({n: '*'}))[0].n)
    // The API's ids are the primary key: items stored already are skipped, on every backend.
    if (rows.length > 0) await ctx.db('items').insert(rows).onConflict('id').ignore()
    const stored = Number((await ctx.db('items').count({n: '*'}))[0].n) - before
    return {fetched: rows.length, stored}
  }
}
