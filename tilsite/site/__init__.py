"""The site: a build session for adapters, the HTML tilsite adds, search files, and `tilsite init`."""
