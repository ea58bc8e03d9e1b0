"""tilsite: a folder of Today-I-Learned notes as a site with related notes and search by meaning."""
