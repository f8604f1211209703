//! The `dnsfailover` binary; all behaviour lives in the library.

fn main() -> std::process::ExitCode {
    dnsfailover::cli::main()
}
