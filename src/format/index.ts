export { formatText, type FormatResult } from './format.js';
export { sameTokens } from './verify.js';
