/**
 * manage's API for a project's own commands (`import {BaseCommand, Flags} from 'manage-cli/command'`):
 * the base class every built-in command extends (the global flags, the project, errors that
 * become a message and an exit status, printJson), the --json flag, and oclif's flag and argument
 * builders.
 */
export {BaseCommand, jsonFlag, type BaseArgs, type BaseFlags} from './cli/base-command'
export {painter, type Painter} from './cli/output/render'
export {Args, Flags} from '@oclif/core'
export {CommandError, UsageError} from './core/base/errors'
