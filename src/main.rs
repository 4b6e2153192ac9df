use clap::Parser;

fn main() {
    let cli = octopus::cli::Cli::parse();
    std::process::exit(octopus::app::run(cli));
}
