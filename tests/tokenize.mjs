// Prints the token ids that transformers.js's tokenizer gives for texts (JSON on stdin), one list per text.
// Usage: node tests/tokenize.mjs MODEL_FOLDER < texts.json
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const folder = process.argv[2];
const tokenizer = new Tokenizer(
  JSON.parse(readFileSync(`${folder}/tokenizer.json`, "utf8")),
  JSON.parse(readFileSync(`${folder}/tokenizer_config.json`, "utf8")),
);
const texts = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(texts.map((text) => tokenizer.encode(text).ids)));
