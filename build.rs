//! Compiles the plugin protocol with protox, a pure-Rust protobuf compiler, so that a
//! fresh machine needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/tfplugin5.proto", "proto/grpc_controller.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // An RPC the provider does not serve answers Unimplemented: the protocol file
        // can carry the whole protocol ahead of the features.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
