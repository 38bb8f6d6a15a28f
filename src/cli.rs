//! Command-line surface (clap derive): `serve` (default), `check`, `keys new`, `usage`.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "A self-hosted LLM gateway: one binary, one YAML file, OpenAI- and OpenRouter-compatible."
)]
pub struct Cli {
    /// Config file [default: $SWITCHBOARD_CONFIG, else ./switchboard.yaml]
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG", default_value = "switchboard.yaml")]
    pub config: PathBuf,
    /// Log format; the level comes from RUST_LOG (default: info).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (the default when no subcommand is given).
    Serve {
        /// Listen address, overriding server.listen.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Validate the config and print the resolved routing table; exit 0 if valid, 2 if not.
    Check,
    /// Exit 0 if the gateway's health URL answers 200 (for container health checks).
    Health {
        #[arg(long, default_value = "http://127.0.0.1:8080/health")]
        url: String,
    },
    /// Manage client API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Summarize the usage log (works while the gateway runs).
    Usage {
        /// How far back to look: e.g. 24h, 7d, 30d.
        #[arg(long, default_value = "7d")]
        since: String,
        /// What to group by.
        #[arg(long, value_enum, default_value_t = UsageGroup::Key)]
        by: UsageGroup,
        /// Output format.
        #[arg(long, value_enum, default_value_t = UsageFormat::Table)]
        format: UsageFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UsageGroup {
    Key,
    Team,
    Model,
    Provider,
    Day,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UsageFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a fresh key and the YAML lines that add it.
    New {
        /// The key's name in the config and the usage log.
        #[arg(long, default_value = "new-key")]
        name: String,
    },
}
