import ansis from 'ansis'
import {luxon} from '../core/luxon'

export interface Painter {
  ok(text: string): string
  error(text: string): string
  warn(text: string): string
  dim(text: string): string
  bold(text: string): string
}

/** Colours when asked (--color), never when refused (--no-color), else when the terminal takes them. */
export function painter(color: boolean | undefined): Painter {
  const on = color ?? (Boolean(process.stdout.isTTY) && ansis.isSupported())
  const plain = (text: string) => text
  if (!on) return {ok: plain, error: plain, warn: plain, dim: plain, bold: plain}
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

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}
