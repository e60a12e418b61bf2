import elkModule, { type ELK, type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { CheckedModel } from '../model/types.js';
import { type Box, type Diagram, diagramOf } from './diagram.js';

/**
 * The diagram laid out by ELK's layered algorithm (elkjs) and drawn as SVG. Box sizes come
 * from their text (a monospace font, so the width of a line is its length); every position
 * and every edge route comes from the layout.
 */

const font = { size: 12, lineHeight: 16, charWidth: 7.3, family: "ui-monospace, 'SF Mono', Menlo, Consolas, monospace" };
const padding = { x: 12, y: 8 };
const margin = 20;
const titleHeight = 44;

const fills: Record<Box['kind'], { fill: string; stroke: string }> = {
  input: { fill: '#eef2f7', stroke: '#8a99ad' },
  stem: { fill: '#f3f0e8', stroke: '#a69a7a' },
  stage: { fill: '#e8f1fb', stroke: '#4a7fb5' },
  more: { fill: '#ffffff', stroke: '#4a7fb5' },
  final: { fill: '#f3f0e8', stroke: '#a69a7a' },
  head: { fill: '#eaf6ec', stroke: '#4f9a5e' },
  output: { fill: '#eef2f7', stroke: '#8a99ad' },
};

function textWidth(line: string): number {
  return [...line].length * font.charWidth;
}

function boxSize(box: Box): { width: number; height: number } {
  return {
    width: Math.ceil(Math.max(...box.lines.map(textWidth)) + 2 * padding.x),
    height: box.lines.length * font.lineHeight + 2 * padding.y,
  };
}

// elkjs is CommonJS: under Node's ESM loader its constructor is the module itself.
type ElkConstructor = new () => ELK;
const Elk = ((elkModule as unknown as { default?: ElkConstructor }).default ?? (elkModule as unknown as ElkConstructor));
const elk = new Elk();

export async function layoutDiagram(diagram: Diagram): Promise<ElkNode> {
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '28',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
    },
    children: diagram.boxes.map((b) => ({ id: b.id, ...boxSize(b) })),
    edges: diagram.flows.map(
      (f): ElkExtendedEdge => ({
        id: f.id,
        sources: [f.from],
        targets: [f.to],
        labels: [{ text: f.label, width: textWidth(f.label), height: font.lineHeight, layoutOptions: { 'elk.edgeLabels.inline': 'false' } }],
      }),
    ),
  };
  return elk.layout(graph);
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number | undefined): string => String(Math.round((n ?? 0) * 10) / 10);

export function drawSvg(diagram: Diagram, laid: ElkNode): string {
  const width = Math.max(laid.width ?? 0, textWidth(diagram.subtitle), textWidth(diagram.title) * 1.2) + 2 * margin;
  const height = (laid.height ?? 0) + 2 * margin + titleHeight;
  const boxes = new Map(diagram.boxes.map((b) => [b.id, b]));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${escape(font.family)}" font-size="${font.size}">`,
    `<title>${escape(diagram.title)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#556"/></marker></defs>',
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${margin}" y="${margin + 14}" font-size="16" font-weight="bold" fill="#223">${escape(diagram.title)}</text>`,
    `<text x="${margin}" y="${margin + 32}" fill="#556">${escape(diagram.subtitle)}</text>`,
    `<g transform="translate(${margin} ${margin + titleHeight})">`,
  ];
  for (const e of (laid.edges ?? []) as ElkExtendedEdge[]) {
    for (const s of e.sections ?? []) {
      const points = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
      out.push(`<path class="flow" d="M ${points.map((p) => `${num(p.x)} ${num(p.y)}`).join(' L ')}" fill="none" stroke="#556" stroke-width="1.4" marker-end="url(#arrow)"/>`);
    }
    for (const l of e.labels ?? []) {
      out.push(`<text class="shape" x="${num(l.x)}" y="${num((l.y ?? 0) + font.size)}" fill="#7a4a00">${escape(l.text ?? '')}</text>`);
    }
  }
  for (const n of laid.children ?? []) {
    const box = boxes.get(n.id)!;
    const style = fills[box.kind];
    out.push(`<g class="box ${box.kind}" data-id="${escape(n.id)}">`);
    out.push(`<rect x="${num(n.x)}" y="${num(n.y)}" width="${num(n.width)}" height="${num(n.height)}" rx="6" fill="${style.fill}" stroke="${style.stroke}" stroke-width="1.4"/>`);
    box.lines.forEach((line, i) => {
      const y = (n.y ?? 0) + padding.y + (i + 1) * font.lineHeight - 4;
      out.push(`<text x="${num((n.x ?? 0) + padding.x)}" y="${num(y)}"${i === 0 ? ' font-weight="bold"' : ''} fill="#223">${escape(line)}</text>`);
    });
    out.push('</g>');
  }
  out.push('</g>', '</svg>');
  return out.join('\n') + '\n';
}

/** The SVG diagram of a checked model. */
export async function modelSvg(model: CheckedModel): Promise<string> {
  const diagram = diagramOf(model);
  return drawSvg(diagram, await layoutDiagram(diagram));
}
