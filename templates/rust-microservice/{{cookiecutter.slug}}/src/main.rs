use std::time::Duration;

use clap::Parser;

use {{ cookiecutter.crate_name }}::{AppState, Config, init_tracing, serve, shutdown_signal};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    init_tracing(config.log_format);
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(listen = %config.listen, error = %e, "cannot listen");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(listen = %config.listen, "{{ cookiecutter.slug }} listening");
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    match serve(listener, AppState::new(), shutdown_signal(), grace).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}
