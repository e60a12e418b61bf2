import elkModule, { type ELK, type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { CheckedModel } from '../model/types.js';
import { type Box, type Diagram, type Flow, diagramOf } from './diagram.js';
import { escapeXml } from '../util/xml.js';

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
  stage: { fill: '#f4f8fd', stroke: '#4a7fb5' },
  more: { fill: '#ffffff', stroke: '#4a7fb5' },
  final: { fill: '#f3f0e8', stroke: '#a69a7a' },
  head: { fill: '#eaf6ec', stroke: '#4f9a5e' },
  output: { fill: '#eef2f7', stroke: '#8a99ad' },
  feature: { fill: '#fff4e0', stroke: '#c98a1b' },
  layer: { fill: '#ffffff', stroke: '#4a7fb5' },
  shortcut: { fill: '#fdf0f0', stroke: '#b55a4a' },
  add: { fill: '#ffffff', stroke: '#556' },
  split: { fill: '#f4f8fd', stroke: '#f4f8fd' },
};

function textWidth(line: string): number {
  return [...line].length * font.charWidth;
}

function boxSize(box: Box): { width: number; height: number } {
  if (box.kind === 'add') return { width: 24, height: 24 };
  return {
    width: Math.ceil(Math.max(...box.lines.map(textWidth)) + 2 * padding.x),
    height: box.lines.length * font.lineHeight + 2 * padding.y,
  };
}

// elkjs is CommonJS: under Node's ESM loader its constructor is the module itself.
type ElkConstructor = new () => ELK;
const Elk = ((elkModule as unknown as { default?: ElkConstructor }).default ?? (elkModule as unknown as ElkConstructor));
const elk = new Elk();

const edgeOf = (f: Flow): ElkExtendedEdge => ({
  id: f.id,
  sources: [f.from],
  targets: [f.to],
  labels: f.label ? [{ text: f.label, width: textWidth(f.label), height: font.lineHeight, layoutOptions: { 'elk.edgeLabels.inline': 'false' } }] : [],
});

/** A box for ELK; a stage with its block's inside becomes a compound node laid out top to bottom, its header above its children. */
function nodeOf(box: Box): ElkNode {
  if (!box.inside) return { id: box.id, ...boxSize(box) };
  const header = boxSize(box);
  return {
    id: box.id,
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.padding': `[top=${header.height + 6},left=${padding.x},bottom=${padding.y + 4},right=${padding.x}]`,
      'elk.layered.spacing.nodeNodeBetweenLayers': '14',
      'elk.spacing.nodeNode': '18',
      'elk.spacing.edgeLabel': '3',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.nodeSize.constraints': 'MINIMUM_SIZE',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.nodeSize.minimum': `(${header.width}, ${header.height})`,
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
    },
    children: box.inside.boxes.map(nodeOf),
    edges: box.inside.flows.map(edgeOf),
  };
}

/** The diagram laid out: the parts top to bottom, each stage's block inside it top to bottom. Coordinates of children and of a stage's flows are relative to the stage. */
export async function layoutDiagram(diagram: Diagram): Promise<ElkNode> {
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '28',
      'elk.spacing.nodeNode': '24',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
    },
    children: diagram.boxes.map(nodeOf),
    edges: diagram.flows.map(edgeOf),
  };
  return elk.layout(graph);
}

const escape = escapeXml;
const num = (n: number | undefined): string => String(Math.round((n ?? 0) * 10) / 10);

function drawEdges(out: string[], edges: ElkExtendedEdge[], flows: Map<string, Flow>): void {
  for (const e of edges) {
    const skip = flows.get(e.id)?.kind === 'skip';
    for (const s of e.sections ?? []) {
      const points = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
      out.push(
        `<path class="flow${skip ? ' skip' : ''}" d="M ${points.map((p) => `${num(p.x)} ${num(p.y)}`).join(' L ')}" fill="none" stroke="#556" stroke-width="1.4"${skip ? ' stroke-dasharray="5 3"' : ''} marker-end="url(#arrow)"/>`,
      );
    }
    for (const l of e.labels ?? []) {
      out.push(`<text class="shape" x="${num(l.x)}" y="${num((l.y ?? 0) + font.size)}" fill="#7a4a00">${escape(l.text ?? '')}</text>`);
    }
  }
}

function drawNodes(out: string[], nodes: ElkNode[], boxes: Map<string, Box>, flows: Map<string, Flow>): void {
  for (const n of nodes) {
    const box = boxes.get(n.id)!;
    const style = fills[box.kind];
    out.push(`<g class="box ${box.kind}" data-id="${escape(n.id)}">`);
    if (box.kind === 'add') {
      const cx = (n.x ?? 0) + (n.width ?? 0) / 2;
      const cy = (n.y ?? 0) + (n.height ?? 0) / 2;
      const r = (n.width ?? 0) / 2;
      out.push(`<circle cx="${num(cx)}" cy="${num(cy)}" r="${num(r)}" fill="${style.fill}" stroke="${style.stroke}" stroke-width="1.4"/>`);
      out.push(`<path d="M ${num(cx - r / 2)} ${num(cy)} L ${num(cx + r / 2)} ${num(cy)} M ${num(cx)} ${num(cy - r / 2)} L ${num(cx)} ${num(cy + r / 2)}" stroke="#223" stroke-width="1.6"/>`);
      out.push('</g>');
      continue;
    }
    out.push(`<rect x="${num(n.x)}" y="${num(n.y)}" width="${num(n.width)}" height="${num(n.height)}" rx="6" fill="${style.fill}" stroke="${style.stroke}" stroke-width="1.4"/>`);
    box.lines.forEach((line, i) => {
      const y = (n.y ?? 0) + padding.y + (i + 1) * font.lineHeight - 4;
      const color = box.kind === 'split' ? '#556' : '#223';
      out.push(`<text x="${num((n.x ?? 0) + padding.x)}" y="${num(y)}"${i === 0 && box.kind !== 'layer' && box.kind !== 'split' ? ' font-weight="bold"' : ''} fill="${color}">${escape(line)}</text>`);
    });
    if (n.children && n.children.length > 0) {
      // A stage: its inside, in its own coordinates.
      out.push(`<g transform="translate(${num(n.x)} ${num(n.y)})">`);
      drawEdges(out, (n.edges ?? []) as ElkExtendedEdge[], flows);
      drawNodes(out, n.children, boxes, flows);
      out.push('</g>');
    }
    out.push('</g>');
  }
}

export function drawSvg(diagram: Diagram, laid: ElkNode): string {
  const width = Math.max(laid.width ?? 0, textWidth(diagram.subtitle), textWidth(diagram.title) * 1.2) + 2 * margin;
  const height = (laid.height ?? 0) + 2 * margin + titleHeight;
  const boxes = new Map<string, Box>();
  const flows = new Map<string, Flow>();
  const collect = (bs: Box[], fs: Flow[]): void => {
    for (const b of bs) {
      boxes.set(b.id, b);
      if (b.inside) collect(b.inside.boxes, b.inside.flows);
    }
    for (const f of fs) flows.set(f.id, f);
  };
  collect(diagram.boxes, diagram.flows);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${escape(font.family)}" font-size="${font.size}">`,
    `<title>${escape(diagram.title)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#556"/></marker></defs>',
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${margin}" y="${margin + 14}" font-size="16" font-weight="bold" fill="#223">${escape(diagram.title)}</text>`,
    `<text x="${margin}" y="${margin + 32}" fill="#556">${escape(diagram.subtitle)}</text>`,
    `<g transform="translate(${margin} ${margin + titleHeight})">`,
  ];
  drawEdges(out, (laid.edges ?? []) as ElkExtendedEdge[], flows);
  drawNodes(out, laid.children ?? [], boxes, flows);
  out.push('</g>', '</svg>');
  return out.join('\n') + '\n';
}

/** The SVG diagram of a checked model. */
export async function modelSvg(model: CheckedModel): Promise<string> {
  const diagram = diagramOf(model);
  return drawSvg(diagram, await layoutDiagram(diagram));
}
