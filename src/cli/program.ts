import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { CodedError } from '../diagnostics/coded-error.js';
import { trackInputs } from '../io/command-inputs.js';
import { exitCodes } from './errors.js';
import type { Output } from './output.js';

const packageJson = createRequire(import.meta.url)('../../package.json') as { version: string };

type Register = (program: Command, out: Output) => void;

/**
 * Every command: its description, and the module that defines it, loaded only when the
 * command runs (or its help is asked for), so `resnetc check` does not pay for loading
 * TensorFlow.js. Each module registers its command's arguments, options and action.
 */
const commands: { name: string; description: string; load: () => Promise<Register> }[] = [
  { name: 'check', description: 'check .resnet files: syntax, shapes, counts and expect lines', load: async () => (await import('./check.js')).registerCheck },
  { name: 'summary', description: 'print a model as a table: each stage (or layer) with its output shape, parameters and MACs', load: async () => (await import('./summary.js')).registerSummary },
  { name: 'compile', description: 'compile a model to ONNX, TensorFlow.js, safetensors or a PyTorch module, with weights initialised as torchvision does or taken from a file', load: async () => (await import('./compile.js')).registerCompile },
  { name: 'train', description: 'train a model with TensorFlow.js on IDX (MNIST layout), CIFAR-10 or synthetic data', load: async () => (await import('./train.js')).registerTrain },
  { name: 'fmt', description: 'rewrite .resnet files in the canonical layout (folders: every .resnet file inside)', load: async () => (await import('./fmt.js')).registerFmt },
  { name: 'lsp', description: 'run the language server (for editors), speaking the Language Server Protocol', load: async () => (await import('./lsp.js')).registerLsp },
  { name: 'graph', description: 'draw a model as an SVG diagram: stem, stages (block kind, depth, width, stride, shortcut, output shape, parameters), head', load: async () => (await import('./graph.js')).registerGraph },
];

/**
 * The `resnetc` command line for these arguments: the commands they name are loaded in
 * full, the others stand in with their name and description (for `resnetc --help`).
 */
export async function buildProgram(out: Output, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('resnetc')
    .description('Check and compile .resnet network specs to ONNX and TensorFlow.js')
    .version(packageJson.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => out.out(s), writeErr: (s) => out.err(s), outputError: (s, write) => write(s) })
    .exitOverride();
  const named = new Set(argv[0] === 'help' ? argv.slice(1, 2) : argv.slice(0, 1));
  for (const c of commands) {
    if (named.has(c.name)) {
      (await c.load())(program, out);
      program.commands[program.commands.length - 1]!.description(c.description);
    } else program.command(c.name).description(c.description);
  }
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: (s) => out.out(s), writeErr: (s) => out.err(s) }).showHelpAfterError('(run with --help for usage)');
  return program;
}

/** Runs the command line and returns the exit code: 0 clean, 1 failed, 2 bad usage. */
export async function run(argv: string[], out: Output): Promise<number> {
  const program = await buildProgram(out, argv);
  try {
    // Every file the command reads is noted, so that no output of it is written over one.
    await trackInputs(() => program.parseAsync(argv, { from: 'user' }));
    return out.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return exitCodes.ok; // --help, --version
      // commander has printed its message; give it the code every usage error carries.
      out.err(`${out.paint(['bold', 'red'], 'error[R0901]')}: bad usage of resnetc\n`);
      return exitCodes.usage;
    }
    if (e instanceof CodedError) {
      out.err(`${out.paint(['bold', 'red'], `error[${e.code}]`)}${out.paint('bold', `: ${e.message}`)}\n`);
      if (e.help) out.err(`  = help: ${e.help}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
