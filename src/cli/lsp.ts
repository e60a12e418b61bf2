import type { Command } from 'commander';
import { CliError } from './errors.js';
import type { Output } from './output.js';

export function registerLsp(program: Command, _out: Output): void {
  program
    .command('lsp')
    .option('--stdio', 'talk over standard input and output (the only transport)')
    .action(async (opts: { stdio?: boolean }) => {
      if (!opts.stdio) throw new CliError('R0901', 'say how to talk to the editor: `resnetc lsp --stdio`', 2);
      const { startStdioServer } = await import('../lsp/server.js');
      await startStdioServer();
    });
}
