//! Builds the pack from `api-v2.jsonl.zst`, or checks that the committed one is up to date.
//!
//! ```text
//! cargo run --release -p asyncdex-pack --features build --example build-pack -- \
//!     /work/shared/data/api-data/api-v2.jsonl.zst crates/pack/data/pokeapi.pack [--check]
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [input, output] = paths[..] else {
        eprintln!("usage: build-pack INPUT.jsonl.zst OUTPUT.pack [--check]");
        return ExitCode::from(2);
    };
    let started = std::time::Instant::now();
    let pack = match asyncdex_pack::build::from_jsonl_zst(input) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("build-pack: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = asyncdex_pack::Pack::open(pack.clone().leak()) {
        eprintln!("build-pack: built pack does not open: {e}");
        return ExitCode::FAILURE;
    }
    if check {
        match std::fs::read(output) {
            Ok(old) if old == pack => {
                println!("{output} is up to date ({} bytes)", pack.len());
                ExitCode::SUCCESS
            }
            Ok(old) => {
                eprintln!(
                    "build-pack: {output} differs from what {input} builds ({} vs {} bytes); rerun without --check",
                    old.len(),
                    pack.len()
                );
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("build-pack: reading {output}: {e}");
                ExitCode::FAILURE
            }
        }
    } else {
        if let Err(e) = std::fs::write(output, &pack) {
            eprintln!("build-pack: writing {output}: {e}");
            return ExitCode::FAILURE;
        }
        println!(
            "wrote {output}: {} bytes in {:.1} s",
            pack.len(),
            started.elapsed().as_secs_f64()
        );
        ExitCode::SUCCESS
    }
}
