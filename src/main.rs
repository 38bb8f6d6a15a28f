//! Entry point: parse the command line, set up logging, run the subcommand.

use clap::Parser;
use std::process::ExitCode;
use switchboard::cli::{Cli, Command, KeysCommand};
use switchboard::{commands, telemetry};

/// Every request allocates and frees a few hundred small objects (JSON maps, headers, reqwest
/// and actix state); mimalloc serves them in about half the instructions glibc's malloc takes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _flush_logs_on_exit = telemetry::init(cli.log_format);
    match cli.command {
        None => run_serve(&cli.config, None),
        Some(Command::Serve { listen }) => run_serve(&cli.config, listen),
        Some(Command::Check) => commands::check(&cli.config),
        Some(Command::Health { url }) => switchboard::probe::health(&url),
        Some(Command::Keys { command: KeysCommand::New { name } }) => commands::keys_new(&name),
        Some(Command::Usage { since, by, format }) => commands::usage(&cli.config, &since, by, format),
    }
}

fn run_serve(config: &std::path::Path, listen: Option<std::net::SocketAddr>) -> ExitCode {
    actix_web::rt::System::new().block_on(commands::serve(config, listen))
}
