import {luxon} from '../../core/time/luxon'
import {commandIO} from './command-io'

export interface Painter {
  ok(text: string): string
  error(text: string): string
  warn(text: string): string
  dim(text: string): string
  bold(text: string): string
}

const plain = (text: string) => text
const PLAIN: Painter = {ok: plain, error: plain, warn: plain, dim: plain, bold: plain}

/**
 * Colours when asked (--color), never when refused (--no-color), else when the terminal takes them.
 * Decided at the first thing painted: output that paints nothing (the crontab's `[ ] code` lines)
 * never makes process.stdout for its question (commandIO), and ansis is loaded only to paint.
 */
export function painter(color: boolean | undefined): Painter {
  let chosen: Painter | undefined
  const paint = () => (chosen ??= choosePainter(color))
  return {
    ok: (text) => paint().ok(text),
    error: (text) => paint().error(text),
    warn: (text) => paint().warn(text),
    dim: (text) => paint().dim(text),
    bold: (text) => paint().bold(text),
  }
}

function choosePainter(color: boolean | undefined): Painter {
  if (color === false || (color === undefined && !commandIO().stdout.isTTY)) return PLAIN
  const ansis = (require('ansis') as typeof import('ansis')).default
  if (color === undefined && !ansis.isSupported()) return PLAIN
  return {
    ok: (text) => ansis.green(text),
    error: (text) => ansis.red(text),
    warn: (text) => ansis.yellow(text),
    dim: (text) => ansis.gray(text),
    bold: (text) => ansis.bold(text),
  }
}

export function formatTime(ms: number, zone: string): string {
  return luxon().DateTime.fromMillis(ms, {zone}).toFormat('yyyy-MM-dd HH:mm:ss ZZZZ')
}
