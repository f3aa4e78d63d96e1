//! Fuzzes vcr-local's request handling: any method, path, token and body gets an
//! answer that is not a server error, and nothing panics.
#![no_main]

use std::sync::OnceLock;

#[path = "../props.rs"]
mod props;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap())
}

fn target() -> &'static props::LocalTarget {
    static TARGET: OnceLock<props::LocalTarget> = OnceLock::new();
    TARGET.get_or_init(|| runtime().block_on(props::LocalTarget::new()))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = runtime().block_on(props::local_request_is_answered(target(), data));
});
