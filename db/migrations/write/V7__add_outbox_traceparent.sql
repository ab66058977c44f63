-- The W3C trace context of the traced request that made an outbox row's command (README, "Logs and traces"), so that
-- the relay and the sweeper publish it beside the event; null when the request was not traced, which is the rule
-- (tracing is off by default). Adding a nullable column without a default rewrites nothing.
alter table outbox add column traceparent text;
