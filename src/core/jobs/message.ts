import {inspect} from 'node:util'

/** Messages are capped so a runaway return value can never make the run log reject a row. */
export const MAX_MESSAGE_BYTES = 64 * 1024

/** The run's message from do()'s return value: strings as they are, objects as JSON, nothing as null. */
export function messageFromResult(value: unknown): string | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string') return truncateMessage(value)
  if (typeof value === 'object') {
    try {
      const json = JSON.stringify(value)
      if (json !== undefined) return truncateMessage(json)
    } catch {
      // circular or a throwing toJSON: fall back to util.inspect below
    }
    return truncateMessage(inspect(value, {depth: 4}))
  }
  return truncateMessage(String(value))
}

/**
 * A failure's message: the stack when there is one, so the log says where it failed, and the
 * error's causes (fetch's "fetch failed" says why only in its cause), the first one also on the
 * first line, which the tick prints.
 */
export function messageFromError(error: unknown): string {
  if (!(error instanceof Error)) return truncateMessage(`thrown value (not an Error): ${messageFromResult(error) ?? String(error)}`)
  const [first, ...rest] = stackOf(error).split('\n')
  const causes: string[] = []
  for (let cause: unknown = error.cause, depth = 0; cause !== undefined && cause !== null && depth < 5; depth++) {
    causes.push(cause instanceof Error ? stackOf(cause) : String(messageFromResult(cause)))
    cause = cause instanceof Error ? cause.cause : undefined
  }
  if (causes.length === 0) return truncateMessage([first, ...rest].join('\n'))
  const head = `${first} (caused by ${causes[0].split('\n')[0]})`
  return truncateMessage([head, ...rest, ...causes.map((cause) => `Caused by: ${cause}`)].join('\n'))
}

/** The stack, which starts with "Name: message"; an error whose message was changed after creation would lose it. */
function stackOf(error: Error): string {
  const stack = error.stack ?? `${error.name}: ${error.message}`
  return stack.includes(error.message) ? stack : `${error.name}: ${error.message}\n${stack}`
}

/** Cut to MAX_MESSAGE_BYTES of UTF-8 (never inside a character) and say how much was cut. */
export function truncateMessage(text: string): string {
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes <= MAX_MESSAGE_BYTES) return text
  const marker = (cut: number) => `\n… [message truncated: ${cut} of ${bytes} bytes cut]`
  const room = MAX_MESSAGE_BYTES - Buffer.byteLength(marker(bytes), 'utf8')
  const buffer = Buffer.from(text, 'utf8')
  let end = room
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (buffer[end] & 0xc0) === 0x80) end--
  return buffer.subarray(0, end).toString('utf8') + marker(bytes - end)
}
