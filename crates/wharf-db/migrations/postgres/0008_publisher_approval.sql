-- A publisher organization's offers are certified only once an operator has approved
-- it (as the public marketplace approves publishers); who approved it and when.
ALTER TABLE organizations ADD COLUMN approved_at BIGINT;
ALTER TABLE organizations ADD COLUMN approved_by TEXT;
