-- Continuous certification: each version in preview or live, re-evaluated against the
-- newest advisories from its stored SBOM, with its health grade (A-F), the
-- vulnerability findings of that evaluation, and, when it breaks the vulnerability
-- policy, since when and until when it has to ship a fix.
CREATE TABLE version_health (
    offer         BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    grade         TEXT   NOT NULL CHECK (grade IN ('A', 'B', 'C', 'D', 'E', 'F')),
    reason        TEXT   NOT NULL,
    -- JSON: the vulnerability findings, and their count by severity.
    findings      TEXT   NOT NULL,
    summary       TEXT   NOT NULL,
    -- The advisory snapshot evaluated against (NULL: none imported).
    snapshot      BIGINT,
    graded_at     BIGINT NOT NULL,
    breaks_policy BIGINT NOT NULL,
    flagged_at    BIGINT,
    grace_until   BIGINT,
    PRIMARY KEY (offer, version),
    FOREIGN KEY (offer, version) REFERENCES offer_versions (offer, version) ON DELETE CASCADE
);
