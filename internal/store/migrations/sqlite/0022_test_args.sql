-- Issue 14: the arguments of a column's generic tests (accepted_values'
-- values, relationships' target) and the config that says how a model's
-- table is kept (unique_key, incremental_strategy, contract.enforced), for
-- prompts. JSON: columns.test_args a list of modeldoc.ColumnTest,
-- objects.config a modeldoc.ObjectConfig ('{}' when the project says none).
ALTER TABLE columns ADD COLUMN test_args TEXT NOT NULL DEFAULT '[]';
ALTER TABLE objects ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
