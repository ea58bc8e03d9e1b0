"""The section index: vectors cached by text, written as a FAISS index with its records."""
