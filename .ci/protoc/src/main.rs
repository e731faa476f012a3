//! Prints the path of the protoc binary that the protoc-bin-vendored crate ships for this
//! platform: `PROTOC=$(cargo run -q --manifest-path .ci/protoc/Cargo.toml)`.

fn main() -> std::process::ExitCode {
    match protoc_bin_vendored::protoc_bin_path() {
        Ok(path) => {
            println!("{}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("no vendored protoc for this platform: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
