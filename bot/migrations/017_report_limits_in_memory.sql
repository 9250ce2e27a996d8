-- The report rate limit now lives in memory only. Each row here was written with its report,
-- at the same minute and in the same order, so the rows grouped reports by who sent them.
-- Deleting them first lets secure_delete overwrite them before the table goes.
DELETE FROM report_limits;
DROP TABLE report_limits;
