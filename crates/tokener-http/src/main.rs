//! `tokener`: the token service and its command-line tools.

use clap::Parser;
use std::process::ExitCode;
use tokener_http::cli::{self, Cli, Command, ServeArgs};
use tokener_http::configuration::Settings;
use tokener_http::startup::Application;
use tokener_http::telemetry;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(args),
        Command::Openapi => {
            print!("{}", tokener_http::openapi::yaml());
            Ok(())
        }
        Command::Keys { command } => block_on(cli::keys::run(command)),
        Command::Client(args) => block_on(cli::client::run(args)),
        Command::Token { command } => block_on(cli::token::run(command)),
        Command::Guard(args) => cli::guard::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokener: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(future: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::load(args.config.as_deref(), &args.overrides())?;
    telemetry::init(&settings.log_filter, settings.log_format);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        app.run_until_stopped().await?;
        Ok(())
    })
}
