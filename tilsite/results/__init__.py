"""What the index answers: related notes of every note, and search by meaning and keywords."""
