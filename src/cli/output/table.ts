import Table from 'cli-table3'
import {commandIO} from './command-io'

/**
 * A table: boxed (cli-table3) on a terminal, plain aligned columns otherwise, so that output
 * piped to grep, awk or a log file stays one row per line.
 */
export function formatTable(headers: string[], rows: string[][], tty = commandIO().stdout.isTTY): string {
  if (tty) {
    const table = new Table({head: headers, style: {head: [], border: []}, wordWrap: true})
    table.push(...rows)
    return table.toString()
  }
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}
