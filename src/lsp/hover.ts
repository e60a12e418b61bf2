import type { Hover, Position } from 'vscode-languageserver';
import { describeCount, shareText } from '../model/count-format.js';
import type { CheckedModel, Stage } from '../model/types.js';
import { checkedModelOf, checkedStageOf } from './checked.js';
import { activationWords, normKindWords, poolKindWords } from '../syntax/vocabulary.js';
import { blockKindDoc, keywordMarkdown, shortcutKindDoc, valueWordDoc } from './keyword-docs.js';
import { offsetOf, rangeOf } from './positions.js';
import type { Project } from './project.js';
import { resolveModel } from './resolve.js';
import { wordAt } from './words.js';
import { shapeText } from '../model/shape-text.js';

export { shapeText };

export function share(part: number, whole: number): string {
  return shareText(part, whole, '–');
}

export function stageMarkdown(model: CheckedModel, stage: Stage): string {
  // From the stage's own fields: reading `blocks` would build every block of it.
  return [
    `**stage ${stage.name}** of \`${model.name}\`: ${stage.depth} × ${stage.kind} blocks, width ${stage.width}, stride ${stage.stride}, shortcut ${stage.shortcut}`,
    '',
    `| | |`,
    `|---|---|`,
    `| input → output | ${shapeText(stage.in)} → **${shapeText(stage.out)}** |`,
    `| parameters | ${describeCount(stage.params)} — ${share(stage.params, model.totals.params)} of the model |`,
    `| MACs | ${describeCount(stage.macs)} — ${share(stage.macs, model.totals.macs)} of the model |`,
    `| buffers | ${describeCount(stage.buffers)} |`,
  ].join('\n');
}

export function modelMarkdown(model: CheckedModel): string {
  const blocks = model.stages.reduce((n, s) => n + s.depth, 0);
  const lines = [
    `**model ${model.name}**${model.parent ? ` extends \`${model.parent}\`` : ''}`,
    '',
    `| | |`,
    `|---|---|`,
    `| input → output | ${shapeText(model.input)} → ${shapeText(model.output)}${model.classes !== undefined ? ` → ${model.classes} classes` : ''} |`,
    `| parameters | **${describeCount(model.totals.params)}** |`,
    `| MACs | **${describeCount(model.totals.macs)}** |`,
    `| buffers | ${describeCount(model.totals.buffers)} (norm running statistics) |`,
    `| stages | ${model.stages.length} (${blocks} blocks) |`,
  ];
  for (const s of model.stages) lines.push(`| ${s.name} | ${s.depth} blocks → ${shapeText(s.out)}, ${share(s.params, model.totals.params)} of params |`);
  return lines.join('\n');
}

export function hover(project: Project, uri: string, position: Position): Hover | null {
  const file = project.checkUri(uri);
  if (!file) return null;
  const word = wordAt(file.syntax, file.source.text, offsetOf(file.source, position));
  if (!word) return null;
  const range = rangeOf(file.source, word.span);
  const markdown = (value: string | undefined): Hover | null => (value ? { contents: { kind: 'markdown', value }, range } : null);
  const model = checkedModelOf(file, word.model);
  switch (word.role) {
    case 'model-name':
      return markdown(model ? modelMarkdown(model) : `**model ${word.text}** (has errors: no counts yet)`);
    case 'extends-name': {
      const site = resolveModel(project, file, word.text);
      const parent = site ? checkedModelOf(site.file, site.model) : undefined;
      return markdown(parent ? modelMarkdown(parent) : undefined);
    }
    case 'stage-name': {
      const stage = model && word.statement?.kind === 'stage' ? checkedStageOf(model, word.statement) : undefined;
      return markdown(stage && model ? stageMarkdown(model, stage) : undefined);
    }
    case 'block-kind':
      return markdown(blockKindDoc(word.text));
    case 'shortcut-kind':
      return markdown(shortcutKindDoc(word.text));
    case 'activation':
      return markdown(valueWordDoc(activationWords, word.text, 'activation'));
    case 'norm-kind':
      return markdown(valueWordDoc(normKindWords, word.text, 'norm'));
    case 'pool-kind':
      return markdown(valueWordDoc(poolKindWords, word.text, 'pool'));
    case 'output-name': {
      const output = model?.outputs.find((o) => o.name === word.text);
      return markdown(output ? `**output ${output.name}**: ${shapeText(output.shape)}` : undefined);
    }
    case 'number':
    case 'size': {
      if (word.statement?.kind !== 'expect' || !model) return null;
      const result = model.expects.find((e) => e.origin.node === word.statement);
      if (!result) return null;
      const actual = result.what === 'output' ? result.actual : describeCount(Number(result.actual));
      return markdown(`${result.ok ? '✓' : '✗'} the model's ${result.what} ${result.what === 'output' ? 'is' : 'are'} **${actual}**`);
    }
    case 'keyword': {
      const doc = keywordMarkdown(word.text, word.place);
      if (word.text === 'stage' && word.statement?.kind === 'stage' && model) {
        const stage = checkedStageOf(model, word.statement);
        if (stage) return markdown(`${stageMarkdown(model, stage)}\n\n---\n${doc ?? ''}`);
      }
      if (word.text === 'model' && model) return markdown(`${modelMarkdown(model)}\n\n---\n${doc ?? ''}`);
      return markdown(doc);
    }
    default:
      return null;
  }
}
