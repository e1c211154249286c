/** Up to this many characters of context around the first match. */
const WINDOW = 160;

export interface Snippet {
  snippet: string;
  highlights: { start: number; end: number }[];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * A window of the text around the first place any term occurs, with every occurrence marked as
 * [start, end) offsets into the snippet (plain text plus offsets: a client renders the marks;
 * no HTML to escape). Case-insensitive like the SQL match (ILIKE), and offsets are taken on the
 * original text, so case folding that changes a string's length cannot shift them.
 */
export function makeSnippet(content: string, title: string, terms: string[]): Snippet {
  const re = new RegExp(terms.map(escapeRegExp).sort((a, b) => b.length - a.length).join("|"), "giu");
  // The content when a word is in it, else the title (a hit on the title alone).
  let text = content;
  let first = re.exec(content);
  if (!first) {
    re.lastIndex = 0;
    text = title;
    first = re.exec(title);
  }
  let from = 0;
  if (first && first.index > WINDOW / 3) from = first.index - Math.floor(WINDOW / 3);
  // Never cut a surrogate pair in two.
  if (from > 0 && /[\uDC00-\uDFFF]/.test(text[from])) from -= 1;
  let to = Math.min(text.length, from + WINDOW);
  if (to < text.length && /[\uD800-\uDBFF]/.test(text[to - 1])) to -= 1;
  const body = text.slice(from, to);
  const prefix = from > 0 ? "…" : "";
  const suffix = to < text.length ? "…" : "";
  const highlights: Snippet["highlights"] = [];
  re.lastIndex = 0;
  for (const m of body.matchAll(re)) highlights.push({ start: prefix.length + m.index!, end: prefix.length + m.index! + m[0].length });
  return { snippet: prefix + body + suffix, highlights };
}
