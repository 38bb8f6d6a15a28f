//! One integration-test binary: the real gateway on 127.0.0.1:0 in front of scripted
//! upstreams, grouped by feature. A single binary links the crate once instead of once per
//! file, which keeps the test build small and quick.

mod common;
mod tools_support;
mod usage_support;

mod admin_api;
mod admin_keys;
mod admin_postgres;
mod allowed_ips;
mod anthropic_upstream;
mod cache;
mod chat;
mod config;
mod embeddings;
mod fidelity_contract;
mod fidelity_system_messages;
mod gemini_skin;
mod gemini_skin_native;
mod gemini_upstream;
mod guardrail_cost;
mod guardrails;
mod guardrails_apis;
mod hardening_edge;
mod hardening_inputs;
mod hardening_logs;
mod hardening_money;
mod hardening_shutdown;
mod messages_anthropic_upstream;
mod messages_native;
mod messages_openai_upstream;
mod messages_schema;
mod messages_usage;
mod observe_alerts;
mod observe_metrics;
mod observe_otlp;
mod ops;
mod responses_native_upstreams;
mod responses_openai_upstream;
mod responses_stored;
mod routing;
mod tools_advisor;
mod tools_fusion;
mod tools_presets;
mod tools_routers;
mod tools_web;
mod usage_budget;
mod usage_log;
mod usage_postgres;
mod usage_process;
mod usage_ratelimit;
