import {expect} from 'chai'
import {newToken} from '../../src/core/base/token'

describe('newToken: a claim token', () => {
  it("has a version 4 UUID's form, and 100,000 of them are all different", () => {
    const tokens = Array.from({length: 100_000}, newToken)
    for (const token of tokens.slice(0, 1000)) expect(token).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(new Set(tokens).size).to.equal(tokens.length)
  })
})
