fn main() -> std::process::ExitCode {
    exo_deploy::run()
}
