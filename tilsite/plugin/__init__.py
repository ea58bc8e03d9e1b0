"""The MkDocs adapter: turns MkDocs events into calls of the tilsite core."""
