//! `tokener`: the token service.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tokener_http::configuration::Settings;
use tokener_http::startup::Application;
use tokener_http::telemetry;

#[derive(Parser)]
#[command(
    name = "tokener",
    version,
    about = "The token service for a network of microservices"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the default), configured by the TOKENER_* environment variables.
    Serve,
    /// Print the OpenAPI document as YAML.
    Openapi,
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a new key file holding one freshly generated active key.
    Generate {
        /// Where to write the key file (created with mode 0600; never overwritten).
        #[arg(long, short)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Openapi => {
            print!("{}", tokener_http::openapi::yaml());
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Generate { out },
        } => generate_keys(&out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokener: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    telemetry::init(&settings.log_filter, settings.log_format);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn generate_keys(out: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let ring = tokener_core::KeyRing::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    file.write_all(ring.to_json().as_bytes())?;
    eprintln!(
        "wrote {} (key id {}, public key {})",
        out.display(),
        ring.active().id(),
        ring.active().public()
    );
    Ok(())
}
