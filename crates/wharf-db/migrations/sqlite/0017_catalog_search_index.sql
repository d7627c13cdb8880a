-- PostgreSQL's text search index stops using a pending list (see its migration);
-- SQLite's FTS5 index has none: nothing to change.
SELECT 1;
