export { diagramOf, type Diagram, type Box, type Flow } from './diagram.js';
export { drawSvg, layoutDiagram, modelSvg } from './svg.js';
