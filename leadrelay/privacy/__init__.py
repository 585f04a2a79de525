"""A person's data on request: `erase` deletes it and keeps an anonymised tombstone for the counts."""
