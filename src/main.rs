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
    purge_freed_memory_at_once();
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

/// mimalloc purges freed memory only after a delay (10 ms, 100 ms for arenas), and acts on
/// it at a thread's next allocation: once a burst of large bodies ended, idle workers kept
/// hundreds of MB resident. Purging at free time gives it back to the OS at once (see
/// BENCHMARKS.md, "Idle RSS after a burst of large bodies").
fn purge_freed_memory_at_once() {
    // `mi_option_purge_delay` in the mimalloc.h bundled by libmimalloc-sys 0.1 (v2 and v3);
    // the crate exports no constant for it.
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    // SAFETY: a plain setter of a global option, callable at any time; 15 is a valid option.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}
