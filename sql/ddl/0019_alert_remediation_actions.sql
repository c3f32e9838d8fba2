-- Machine-readable remediation beside the runbook text: the alert's actions (AWS CLI argv, API operation,
-- parameters filled from the finding, risk) as a JSON array, as on the remediation topic. '[]': none.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS remediation_actions String DEFAULT '[]' AFTER remediation;

-- A view's columns are fixed when it is created: recreate it so it shows the new column.
CREATE OR REPLACE VIEW alerts_current AS SELECT * FROM alerts FINAL;
