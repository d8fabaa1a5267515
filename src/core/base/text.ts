/** The text up to its first line break ('' for none): the one line an error or a message is shown as. */
export function firstLine(text: string | null | undefined): string {
  if (!text) return ''
  const index = text.indexOf('\n')
  return index === -1 ? text : text.slice(0, index)
}

/** A value from user input in a message: numbers as they are (NaN, Infinity), strings quoted with control characters escaped. */
export function shown(value: unknown): string {
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') return `'${JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"')}'`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
