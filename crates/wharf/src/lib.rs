//! The `wharf` binary's library: configuration, server assembly and the command line. This is the composition root; nothing depends on it.

pub mod cli;
pub mod config;
pub mod http;
mod output;
pub mod server;
pub mod telemetry;
