// tilsite search core: the same hybrid ranking as `tilsite search` (tilsite/results/keywords.py, tilsite/results/search.py).
// Keyword terms: Hangul/CJK character bigrams and whole ASCII tokens, scored with BM25; fused with the
// dense (cosine) ranking by weighted reciprocal rank fusion. Keep this file in step with the Python.

const TOKEN = /[\uac00-\ud7a3\u3131-\u318e\u4e00-\u9fff\u3040-\u30ff]+|[0-9a-z]+(?:[_.+#-][0-9a-z]+)*/g;
const ASCII_PART = /[0-9a-z]+/g;
const BM25_K1 = 1.2;
const BM25_B = 0.75;

export function tokenize(text) {
  const terms = [];
  for (const match of text.toLowerCase().matchAll(TOKEN)) {
    const token = match[0];
    if (token.charCodeAt(0) < 128) {
      terms.push(token);
      const parts = token.match(ASCII_PART) || [];
      if (parts.length > 1) terms.push(...parts);
    } else if (token.length === 1) {
      terms.push(token);
    } else {
      for (let i = 0; i < token.length - 1; i += 1) terms.push(token.slice(i, i + 2));
    }
  }
  return terms;
}

export class KeywordRanker {
  constructor(documents) {
    this.counts = documents.map((document) => {
      const counts = new Map();
      for (const term of tokenize(document)) counts.set(term, (counts.get(term) || 0) + 1);
      return counts;
    });
    this.lengths = this.counts.map((counts) => {
      let total = 0;
      for (const value of counts.values()) total += value;
      return total;
    });
    const sum = this.lengths.reduce((a, b) => a + b, 0);
    this.average = this.lengths.length ? sum / this.lengths.length : 0;
    const frequency = new Map();
    for (const counts of this.counts) {
      for (const term of counts.keys()) frequency.set(term, (frequency.get(term) || 0) + 1);
    }
    const total = documents.length;
    this.idf = new Map();
    for (const [term, seen] of frequency) this.idf.set(term, Math.log(1 + (total - seen + 0.5) / (seen + 0.5)));
  }

  scores(query) {
    const terms = [...new Set(tokenize(query))].filter((term) => this.idf.has(term));
    const results = new Array(this.counts.length).fill(0);
    if (!terms.length) return results;
    const average = this.average || 1;
    this.counts.forEach((counts, position) => {
      const norm = BM25_K1 * (1 - BM25_B + (BM25_B * this.lengths[position]) / average);
      let score = 0;
      for (const term of terms) {
        const seen = counts.get(term);
        if (seen) score += (this.idf.get(term) * seen * (BM25_K1 + 1)) / (seen + norm);
      }
      results[position] = score;
    });
    return results;
  }

  /** The share of the query's distinct terms that occur in the documents (as `known_share` in keywords.py). */
  knownShare(query) {
    const terms = [...new Set(tokenize(query))];
    return terms.length ? terms.filter((term) => this.idf.has(term)).length / terms.length : 0;
  }

  rank(query, limit) {
    const scored = [];
    this.scores(query).forEach((score, position) => {
      if (score > 0) scored.push([position, score]);
    });
    scored.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    return scored.slice(0, limit);
  }
}

export function fuse(rankings, k) {
  const fused = new Map();
  for (const [ranking, weight] of rankings) {
    ranking.forEach((position, index) => {
      fused.set(position, (fused.get(position) || 0) + weight / (k + index + 1));
    });
  }
  return fused;
}

/** The section index the build wrote: settings, sections and their int8 vectors. */
export async function loadIndex(base) {
  const manifest = await (await fetch(new URL("index.json", base))).json();
  const [sections, buffer] = await Promise.all([
    fetch(new URL(manifest.sections, base)).then((response) => response.json()),
    fetch(new URL(manifest.vectors, base)).then((response) => response.arrayBuffer()),
  ]);
  const dimension = manifest.dimension;
  const owners = passageOwners(sections);
  const rows = sections.length + owners.length;
  const codes = new Int8Array(buffer, 0, rows * dimension);
  const scales = new Float32Array(buffer.slice(rows * dimension, rows * dimension + rows * 4));
  const keywords = new KeywordRanker(sections.map((s) => `${s.title}\n${s.heading}\n${s.text}`));
  return { manifest, sections, owners, codes, scales, dimension, keywords };
}

const SNIPPET_CHARS = 160;
const SNIPPET_START = /\n|[.!?]\s/g;

/**
 * The `width` characters of a section's text that hold the most of the query's keyword terms, from the start of a
 * line or sentence, or "" when none holds more than the start does (as `query_snippet` in tilsite/results/search.py).
 */
export function querySnippet(text, query, width = SNIPPET_CHARS) {
  const terms = new Set(tokenize(query));
  if (!terms.size || text.length <= width) return "";
  const starts = [0, ...[...text.matchAll(SNIPPET_START)].map((match) => match.index + match[0].length)];
  const found = (part) => new Set(tokenize(part).filter((term) => terms.has(term))).size;
  const flat = (part) => part.split(/\s+/).filter(Boolean).join(" ");
  const window = (start) => flat(text.slice(start, start + 2 * width)).slice(0, width);
  const scores = starts.map((start, number) => [found(window(start)), found(text.slice(start, starts[number + 1] ?? text.length))]);
  let best = 0;
  scores.forEach(([inWindow, inSentence], number) => {
    const [bestWindow, bestSentence] = scores[best];
    if (inWindow > bestWindow || (inWindow === bestWindow && inSentence > bestSentence)) best = number;
  });
  if (!starts[best] || scores[best][0] <= scores[0][0]) return "";
  const shown = window(starts[best]);
  const more = flat(text.slice(starts[best])).length > shown.length;
  return more ? `… ${shown.slice(0, width - 1).trimEnd()}…` : `… ${shown}`;
}

/**
 * The vectors file holds the sections' rows, then the passages of long sections, section by section (a record
 * says how many it has): passage row `row` belongs to section `owners[row - sections.length]`.
 */
export function passageOwners(sections) {
  const owners = [];
  sections.forEach((section, position) => {
    for (let passage = 0; passage < (section.passages || 0); passage += 1) owners.push(position);
  });
  return owners;
}

const SCRIPT_SAMPLE = 4000;
const SCRIPT_SHARE = 0.15;

/** The script a text is written in: "ko", "cjk" or "latin" (as `script` in tilsite/results/related.py). */
export function script(text) {
  const sample = text.slice(0, SCRIPT_SAMPLE);
  const count = (pattern) => (sample.match(pattern) || []).length;
  const hangul = count(/[\uac00-\ud7a3]/g);
  const kanaHan = count(/[\u3040-\u30ff\u4e00-\u9fff]/g);
  const letters = hangul + kanaHan + count(/[A-Za-z]/g);
  if (letters && hangul >= Math.max(kanaHan, SCRIPT_SHARE * letters)) return "ko";
  if (letters && kanaHan >= SCRIPT_SHARE * letters) return "cjk";
  return "latin";
}

/** The query's vector less the shift of its script, as a unit vector (`shift_query` in tilsite/results/search.py). */
export function shiftQuery(shifts, query, vector) {
  const shift = shifts && (shifts[script(query)] || shifts[""]);
  if (!shift) return vector;
  const moved = new Float32Array(vector.length);
  let sum = 0;
  for (let column = 0; column < vector.length; column += 1) {
    moved[column] = vector[column] - shift[column];
    sum += moved[column] * moved[column];
  }
  const norm = Math.max(Math.sqrt(sum), 1e-12);
  for (let column = 0; column < moved.length; column += 1) moved[column] /= norm;
  return moved;
}

/** Cosine of `vector` with each section: the best of its own row and its passages' rows, as `tilsite search`. */
function similarities(index, vector) {
  const { codes, scales, dimension, owners } = index;
  const count = index.sections.length;
  const result = new Float32Array(count);
  for (let row = 0; row < count + owners.length; row += 1) {
    let dot = 0;
    const offset = row * dimension;
    for (let column = 0; column < dimension; column += 1) dot += codes[offset + column] * vector[column];
    const value = dot * scales[row];
    if (row < count) result[row] = value;
    else if (value > result[owners[row - count]]) result[owners[row - count]] = value;
  }
  return result;
}

/** Best sections for `query`: keyword ranking alone, or fused with the dense ranking when `vector` is given. */
export function search(index, query, vector, top = 10) {
  const { manifest, sections } = index;
  const count = sections.length;
  if (!count || !query.trim()) return [];
  const depth = Math.min(count, Math.max(manifest.candidates, top * 4));
  const keyword = index.keywords.rank(query, depth).map(([position]) => position);
  let order;
  let fused;
  let cosine = null;
  if (vector) {
    cosine = similarities(index, shiftQuery(manifest.query_shifts, query, vector));
    const dense = [...cosine.keys()].sort((a, b) => cosine[b] - cosine[a] || a - b).slice(0, depth);
    const weight = manifest.keyword_weight * index.keywords.knownShare(query);
    fused = fuse([[dense, 1], [keyword.slice(0, manifest.keyword_votes), weight]], manifest.rrf_k);
    order = [...fused.keys()].sort((a, b) => fused.get(b) - fused.get(a) || cosine[b] - cosine[a]);
  } else {
    fused = fuse([[keyword, 1]], manifest.rrf_k);
    order = keyword;
  }
  return order.slice(0, top).map((position) => ({
    ...sections[position],
    snippet: querySnippet(sections[position].text || "", query) || sections[position].snippet,
    score: fused.get(position),
    similarity: cosine ? cosine[position] : null,
  }));
}
