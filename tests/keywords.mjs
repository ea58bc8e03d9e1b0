// Ranks documents with the site's JavaScript keyword ranker, for comparison with tilsite/results/keywords.py.
// stdin: {"documents": [...], "queries": [...]}; stdout: per query, {"ranked": [[position, score], ...], "known": share}.
import { readFileSync } from "node:fs";
import { KeywordRanker } from "../tilsite/site/assets/search/search-core.js";

const { documents, queries } = JSON.parse(readFileSync(0, "utf8"));
const ranker = new KeywordRanker(documents);
process.stdout.write(
  JSON.stringify(queries.map((query) => ({ ranked: ranker.rank(query, 10), known: ranker.knownShare(query) }))),
);
