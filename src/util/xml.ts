/** Text made safe inside XML (SVG) content and double-quoted attributes: `&`, `<`, `>` and `"` as entities. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
}
