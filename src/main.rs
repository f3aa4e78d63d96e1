//! `terraform-provider-vcr`: started by Terraform, speaks plugin protocol 5.

use std::process::ExitCode;

use vcr_provider::provider::{VcrProvider, PROVIDER_ADDRESS};
use vcr_provider::tfplugin::{logging, serve};

const USAGE: &str =
    "terraform-provider-vcr: the Terraform provider for VNG Cloud vContainer Registry (vCR).

Terraform starts this program itself; see the README to use it.

Options:
  --debug     serve without Terraform and print the TF_REATTACH_PROVIDERS value to use;
              the provider then reads VCR_* variables from its own environment
  --version   print the version
  --help      print this help";

fn main() -> ExitCode {
    let mut debug = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--debug" | "-debug" => debug = true,
            "--version" | "-version" => {
                println!("terraform-provider-vcr {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "--help" | "-help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("terraform-provider-vcr: unknown argument {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    logging::init("provider.terraform-provider-vcr", "vcr_provider");
    // One thread: Terraform's RPCs arrive on one HTTP/2 connection and each waits on
    // vCR, so threads add wake-ups, not speed; this cut the provider's CPU by about a
    // third and its memory by 1 MiB (BENCHMARKS.md, "Decided").
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-vcr: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = serve::ServeOptions {
        provider_address: PROVIDER_ADDRESS.to_string(),
        debug,
    };
    match runtime.block_on(serve::serve(VcrProvider, options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
