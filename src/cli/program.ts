import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { registerCheck } from './check.js';
import { registerCompile } from './compile.js';
import { CliError, exitCodes } from './errors.js';
import type { Output } from './output.js';
import { registerSummary } from './summary.js';
import { registerFmt } from './fmt.js';
import { registerLsp } from './lsp.js';
import { registerGraph } from './graph.js';
import { registerTrain } from './train.js';

const packageJson = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The `resnetc` command line. Each command lives in its own module and registers itself here. */
export function buildProgram(out: Output): Command {
  const program = new Command('resnetc')
    .description('Check and compile .resnet network specs to ONNX and TensorFlow.js')
    .version(packageJson.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => out.out(s), writeErr: (s) => out.err(s), outputError: (s, write) => write(s) })
    .exitOverride();
  registerCheck(program, out);
  registerSummary(program, out);
  registerCompile(program, out);
  registerFmt(program, out);
  registerLsp(program, out);
  registerGraph(program, out);
  registerTrain(program, out);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: (s) => out.out(s), writeErr: (s) => out.err(s) }).showHelpAfterError('(run with --help for usage)');
  return program;
}

/** Runs the command line and returns the exit code: 0 clean, 1 failed, 2 bad usage. */
export async function run(argv: string[], out: Output): Promise<number> {
  const program = buildProgram(out);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return out.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return exitCodes.ok; // --help, --version
      // commander has printed its message; give it the code every usage error carries.
      out.err(`${out.paint(['bold', 'red'], 'error[R0901]')}: bad usage of resnetc\n`);
      return exitCodes.usage;
    }
    if (e instanceof CliError) {
      out.err(`${out.paint(['bold', 'red'], `error[${e.code}]`)}${out.paint('bold', `: ${e.message}`)}\n`);
      if (e.help) out.err(`  = help: ${e.help}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
