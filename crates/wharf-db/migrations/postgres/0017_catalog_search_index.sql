-- The catalog's text search index takes new entries straight into its tree instead of
-- a pending list: the catalog is read far more often than written (a go-live writes a
-- listing's few texts), and every search scans the whole pending list until a vacuum
-- empties it (3 ms of a 4 ms search over 100,000 freshly loaded listings). Entries
-- already pending are merged by the next vacuum.
ALTER INDEX catalog_texts_search SET (fastupdate = off);
