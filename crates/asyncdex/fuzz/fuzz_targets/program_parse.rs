//! Fuzz the program-file parser: any input must give a program or a one-line error,
//! never a panic, a hang or a stack overflow.
//!
//! Run (needs cargo-fuzz; on a stable toolchain add RUSTC_BOOTSTRAP=1):
//!     cargo fuzz run program_parse -- -max_total_time=300
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match asyncdex::program::Program::parse(text, "fuzz.toml") {
            Ok(program) => {
                // A valid program must also build into a task.
                let devices = program.devices();
                let _ = program.task(&devices, None);
            }
            Err(e) => assert_eq!(e.to_string().lines().count(), 1, "one-line errors: {e}"),
        }
    }
});
