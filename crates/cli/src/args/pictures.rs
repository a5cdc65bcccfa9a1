//! What a run draws of itself: an SVG timeline (`--timeline`), a Chrome trace
//! (`--trace`), a latency histogram on stderr (`--histogram`); each picture is refused
//! before the run if it would overwrite what it must not.

use crate::commands;
use clap::Args;

#[derive(Args)]
pub struct PictureArgs {
    /// Write an SVG timeline (one bar per call, the modes stacked); open it in a browser.
    #[arg(long, value_name = "FILE.svg", value_parser = crate::output_file::timeline_file)]
    pub timeline: Option<std::path::PathBuf>,
    /// Write a Chrome trace (open it in ui.perfetto.dev or chrome://tracing).
    #[arg(long, value_name = "FILE.json", value_parser = crate::output_file::trace_file)]
    pub trace: Option<std::path::PathBuf>,
    /// Print a histogram of the calls' latencies (log-scale bins) under the closing
    /// latency line (p50, p90, p99, max), on stderr.
    #[arg(long)]
    pub histogram: bool,
}

impl PictureArgs {
    /// The pictures to draw; refused if --timeline and --trace name one file, or if one
    /// would replace what is not a picture of its kind, or one of `kept` (see
    /// [`crate::output_file::check_replace`]).
    pub fn pictures(
        &self,
        kept: &[crate::output_file::Kept],
    ) -> asyncdex::Result<commands::Pictures> {
        crate::output_file::check_distinct(&[
            ("--timeline", self.timeline.as_deref()),
            ("--trace", self.trace.as_deref()),
        ])?;
        use crate::output_file::{check_replace, Output};
        for (output, path) in [
            (Output::Timeline, &self.timeline),
            (Output::Trace, &self.trace),
        ] {
            if let Some(path) = path {
                check_replace(output, path, kept)?;
            }
        }
        Ok(commands::Pictures {
            timeline: self.timeline.clone(),
            trace: self.trace.clone(),
            histogram: self.histogram,
        })
    }
}
