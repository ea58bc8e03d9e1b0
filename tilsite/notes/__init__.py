"""Notes as they are in a repository: found, read, dated, split into sections with the ids MkDocs renders."""
