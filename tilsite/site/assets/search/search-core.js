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
  const count = sections.length;
  const dimension = manifest.dimension;
  const codes = new Int8Array(buffer, 0, count * dimension);
  const scales = new Float32Array(buffer.slice(count * dimension, count * dimension + count * 4));
  const keywords = new KeywordRanker(sections.map((s) => `${s.title}\n${s.heading}\n${s.text}`));
  return { manifest, sections, codes, scales, dimension, keywords };
}

function similarities(index, vector) {
  const { codes, scales, dimension } = index;
  const result = new Float32Array(index.sections.length);
  for (let row = 0; row < result.length; row += 1) {
    let dot = 0;
    const offset = row * dimension;
    for (let column = 0; column < dimension; column += 1) dot += codes[offset + column] * vector[column];
    result[row] = dot * scales[row];
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
    cosine = similarities(index, vector);
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
    score: fused.get(position),
    similarity: cosine ? cosine[position] : null,
  }));
}
