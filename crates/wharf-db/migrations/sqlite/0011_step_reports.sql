-- A step's report (certification: every finding with its evidence, the SBOMs) is a
-- JSON document in the blob store; garbage collection keeps it while the row lives.
ALTER TABLE pipeline_steps ADD COLUMN report_digest TEXT;
CREATE INDEX pipeline_steps_by_report ON pipeline_steps (report_digest);
