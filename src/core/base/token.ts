/**
 * A claim's token, in a UUID's form (version 4): 122 random bits, so no two claims of any process
 * share one. It is an identity, not a secret (whoever reads the run log may release a claim with
 * `crons:unlock`), so it comes from Math.random, whose generator V8 seeds from the system's
 * entropy in each process: node:crypto's randomUUID would cost every due tick the load of
 * node:crypto.
 */
export function newToken(): string {
  const hex = (bits: number) => Math.floor(Math.random() * 2 ** bits).toString(16).padStart(bits / 4, '0')
  const variant = (8 + Math.floor(Math.random() * 4)).toString(16)
  return `${hex(32)}-${hex(16)}-4${hex(12)}-${variant}${hex(12)}-${hex(24)}${hex(24)}`
}
