import type { Command } from 'commander';
import { modelSvg } from '../graph/svg.js';
import { writeOutputFile } from '../io/write.js';
import { CliError } from './errors.js';
import { loadModel } from './load.js';
import type { Output } from './output.js';

export function registerGraph(program: Command, out: Output): void {
  program
    .command('graph')
    .argument('<file>', 'a .resnet file')
    .option('-m, --model <name>', 'the model to draw (needed when the file declares several)')
    .option('-o, --output <file>', 'where to write the SVG (default: standard output)')
    .action(async (file: string, opts: { model?: string; output?: string }) => {
      const { model } = loadModel(file, opts.model, out, 'graph', 'inspect');
      let svg: string;
      try {
        svg = await modelSvg(model);
      } catch (e) {
        throw new CliError('R0704', `cannot lay out the diagram of '${model.name}': ${e instanceof Error ? e.message : String(e)}`);
      }
      if (opts.output === undefined || opts.output === '-') {
        out.out(svg);
        return;
      }
      writeOutputFile(opts.output, svg);
      out.out(`wrote ${opts.output} (${model.name})\n`);
    });
}
