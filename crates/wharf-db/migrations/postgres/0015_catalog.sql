-- The catalog: a projection of each offer's live version, written in the transaction
-- that makes a version live (and kept in step by stop-sell, resume and regrading).
-- One item per listed offer; its texts per locale (searched with FTS5 there, with
-- PostgreSQL's text search here); its facet values; the customer organizations that
-- see it through a private plan.
CREATE TABLE catalog_items (
    offer          BIGINT  PRIMARY KEY REFERENCES offers (id) ON DELETE CASCADE,
    publisher_id   BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    publisher      TEXT    NOT NULL,
    publisher_name TEXT    NOT NULL,
    offer_id       TEXT    NOT NULL,
    version        BIGINT  NOT NULL,
    default_locale TEXT    NOT NULL,
    -- The default locale's name, case-folded: the name sort's key.
    sort_name      TEXT    COLLATE "C" NOT NULL,
    grade          TEXT,
    -- 1: a public plan is on sale (kept from catalog_plans).
    public         BIGINT  NOT NULL,
    stop_sold      BIGINT  NOT NULL,
    -- When the offer first went live, and when this version did.
    listed_at      BIGINT  NOT NULL,
    live_at        BIGINT  NOT NULL,
    -- The facet values but the grade, one `facet=value` per line (what a node's
    -- in-memory index loads; catalog_facets has them as rows).
    facets         TEXT    NOT NULL,
    -- The text search configurations of its locales, space-separated.
    languages      TEXT    NOT NULL,
    -- The catalog_state.seq of its last change: nodes reload what changed since.
    changed        BIGINT  NOT NULL
);
CREATE UNIQUE INDEX catalog_items_by_name ON catalog_items (publisher, offer_id);
CREATE INDEX catalog_items_by_sort_name ON catalog_items (sort_name, offer);
CREATE INDEX catalog_items_by_live_at ON catalog_items (live_at, offer);
CREATE INDEX catalog_items_by_changed ON catalog_items (changed);

-- `seq` is bumped by every change to the catalog, in the change's transaction (whose
-- lock on this row orders changes as they commit); `epoch` by a deletion that takes
-- entries away (an organization's): nodes then reload their index whole.
CREATE TABLE catalog_state (
    id    BIGINT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    epoch BIGINT NOT NULL
);
INSERT INTO catalog_state (id, seq, epoch) VALUES (1, 0, 0);

-- `id` is the offer's key times 1024 plus the locale's place in the listing, so the
-- full-text index's row ids name their offer.
CREATE TABLE catalog_texts (
    id          BIGINT PRIMARY KEY,
    offer       BIGINT NOT NULL REFERENCES catalog_items (offer) ON DELETE CASCADE,
    locale      TEXT   NOT NULL,
    -- The text search configuration for the locale's language.
    language    TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    summary     TEXT   NOT NULL,
    description TEXT   NOT NULL,
    keywords    TEXT   NOT NULL,
    publisher   TEXT   NOT NULL,
    -- The searched document, weighted: name A, keywords and publisher B, summary C,
    -- description D, and its language as the lexeme `~<language>`; kept by the
    -- trigger below.
    search      tsvector NOT NULL DEFAULT ''::tsvector,
    UNIQUE (offer, locale)
);
CREATE INDEX catalog_texts_search ON catalog_texts USING GIN (search);

CREATE FUNCTION catalog_texts_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search :=
        setweight(to_tsvector(NEW.language::regconfig, NEW.name), 'A') ||
        setweight(to_tsvector(NEW.language::regconfig, NEW.keywords), 'B') ||
        setweight(to_tsvector(NEW.language::regconfig, NEW.publisher), 'B') ||
        setweight(to_tsvector(NEW.language::regconfig, NEW.summary), 'C') ||
        setweight(to_tsvector(NEW.language::regconfig, NEW.description), 'D') ||
        -- Marks the language, so a search matches each text in its own language
        -- inside the index (no query word can hold `~`).
        array_to_tsvector(ARRAY['~' || NEW.language]);
    RETURN NEW;
END
$$;
CREATE TRIGGER catalog_texts_search BEFORE INSERT OR UPDATE ON catalog_texts
    FOR EACH ROW EXECUTE FUNCTION catalog_texts_search();

-- Facet values: category, publisher, pricing, architecture, deployment, grade.
CREATE TABLE catalog_facets (
    offer BIGINT NOT NULL REFERENCES catalog_items (offer) ON DELETE CASCADE,
    facet TEXT   NOT NULL,
    value TEXT   NOT NULL,
    PRIMARY KEY (facet, value, offer)
);
CREATE INDEX catalog_facets_by_offer ON catalog_facets (offer, facet);

-- The live version's plans: whether each is public and whether it is stop-sold.
CREATE TABLE catalog_plans (
    offer     BIGINT NOT NULL REFERENCES catalog_items (offer) ON DELETE CASCADE,
    plan      TEXT   NOT NULL,
    public    BIGINT NOT NULL,
    stop_sold BIGINT NOT NULL,
    PRIMARY KEY (offer, plan)
);

-- The customer organizations a private plan is for: they see the offer.
CREATE TABLE catalog_audience (
    offer  BIGINT NOT NULL,
    plan   TEXT   NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    PRIMARY KEY (offer, plan, org_id),
    FOREIGN KEY (offer, plan) REFERENCES catalog_plans (offer, plan) ON DELETE CASCADE
);
CREATE INDEX catalog_audience_by_org ON catalog_audience (org_id);
