#!/usr/bin/env -S node --import tsx
// Development entry: runs the TypeScript sources through tsx, without a build. Never for the crontab.
require('@oclif/core').execute({development: true, dir: __dirname})
