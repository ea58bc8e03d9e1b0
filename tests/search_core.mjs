// Ranks sections with the site's JavaScript hybrid search, for comparison with tilsite/results/search.py.
// stdin: {"manifest": {...}, "sections": [...], "codes": [[int8...]...], "scales": [...], "queries": [[text, vector]...],
//         "texts": [...]} (codes and scales: the sections' rows, then their passages', as in the published vectors file);
// stdout: {"results": per query, the [path, score, snippet] of the first ten results, "scripts": each text's script}.
import { readFileSync } from "node:fs";
import { KeywordRanker, passageOwners, script, search } from "../tilsite/site/assets/search/search-core.js";

const input = JSON.parse(readFileSync(0, "utf8"));
const index = {
  manifest: input.manifest,
  sections: input.sections,
  owners: passageOwners(input.sections),
  codes: Int8Array.from(input.codes.flat()),
  scales: Float32Array.from(input.scales),
  dimension: input.manifest.dimension,
  keywords: new KeywordRanker(input.sections.map((s) => `${s.title}\n${s.heading}\n${s.text}`)),
};
const results = input.queries.map(([query, vector]) =>
  search(index, query, Float32Array.from(vector), 10).map((hit) => [hit.path, hit.score, hit.snippet]),
);
process.stdout.write(JSON.stringify({ results, scripts: (input.texts || []).map(script) }));
