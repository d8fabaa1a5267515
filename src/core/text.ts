/** The text up to its first line break ('' for none): the one line an error or a message is shown as. */
export function firstLine(text: string | null | undefined): string {
  if (!text) return ''
  const index = text.indexOf('\n')
  return index === -1 ? text : text.slice(0, index)
}
