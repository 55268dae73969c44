-- The part of a call's completion tokens a reasoning model spent thinking
-- (already inside completion_tokens, as OpenAI bills it).
ALTER TABLE generation_logs ADD COLUMN reasoning_tokens BIGINT NOT NULL DEFAULT 0;
