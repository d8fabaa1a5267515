import {expect} from 'chai'
import {holdYoungGeneration} from '../../src/cli/runcrons/young-generation'

describe("holdYoungGeneration: manage scheduler holds V8's young generation at its size", () => {
  const cases: Array<{name: string; execArgv: string[]; nodeOptions?: string; set: string[]}> = [
    {name: 'no flag of its own: the growth factor set to 1', execArgv: [], set: ['--semi-space-growth-factor=1']},
    {name: 'other options left alone', execArgv: ['--enable-source-maps'], nodeOptions: '--require ./probe.js --max-old-space-size=200', set: ['--semi-space-growth-factor=1']},
    {name: "node's own --max-semi-space-size wins", execArgv: ['--max-semi-space-size=4'], set: []},
    {name: "NODE_OPTIONS' semi-space flag wins", execArgv: [], nodeOptions: '--max-semi-space-size=2', set: []},
    {name: 'in its underscore spelling too', execArgv: ['--semi_space_growth_factor=2'], set: []},
  ]
  for (const {name, execArgv, nodeOptions, set} of cases) {
    it(name, () => {
      const flags: string[] = []
      expect(holdYoungGeneration(execArgv, nodeOptions, (value) => flags.push(value))).to.equal(set.length > 0)
      expect(flags).to.deep.equal(set)
    })
  }
})
